; Inno Setup 6 script: a per-user Windows installer for the one-folder bundle.
; Build the bundle first (build\windows\build.ps1 does both), then:
;   iscc /DVariant=cpu /DAppVersion=<version> build\windows\medgrad.iss
; AppVersion is pyproject's [project].version (python build\version.py): there is no default here, so
; the installer's name and the version it records cannot drift from the app's.
; Output: build\dist\MedGradDesktop-<version>-windows-<variant>-setup.exe
; Per-user install (no administrator rights): %LOCALAPPDATA%\Programs\MedGrad Desktop. The user's data
; (%LOCALAPPDATA%\MedGradDesktop: project store, audit log) is outside {app}; uninstalling leaves it.

#define AppName "MedGrad Desktop"
#define AppExe "MedGradDesktop.exe"
#ifndef AppVersion
  #error AppVersion is not defined: build with build\windows\build.ps1, or pass /DAppVersion=<pyproject version>
#endif
#ifndef Variant
  #define Variant "cpu"
#endif
#ifndef DistDir
  #define DistDir "..\dist\MedGradDesktop"
#endif

[Setup]
AppId={{6E0C2A9B-3D51-4C7E-9E3B-6F1D2B8A4C11}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion} ({#Variant})
AppPublisher=MedGrad Desktop project
AppComments=Explainable CLIP skin-lesion review. Research use only, not for diagnosis.
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\dist
OutputBaseFilename=MedGradDesktop-{#AppVersion}-windows-{#Variant}-setup
SetupIconFile=..\icons\medgrad.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2/fast
SolidCompression=no
DiskSpanning=no
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#DistDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{group}\{#AppName} self-test"; Filename: "{app}\{#AppExe}"; Parameters: "--self-test"
Name: "{group}\Third-party licences"; Filename: "{app}\THIRD-PARTY-NOTICES.txt"
Name: "{group}\{cm:UninstallProgram,{#AppName}}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
