# Build the Windows bundle and its Inno Setup installer.
#   powershell -ExecutionPolicy Bypass -File build\windows\build.ps1 [-Variant cpu|cuda] [-TestInstall]
# Needs Python 3.11 (the one actions/setup-python put on PATH, else the py launcher) and Inno Setup 6
# (iscc.exe on PATH or in its default folder). cpu: PyPI's Windows torch wheels are CPU-only already.
# cuda: wheels from download.pytorch.org (cu130).
# -TestInstall: install the new setup.exe silently for this user into a temporary folder, run the installed
# app's --self-test, uninstall it silently and check the folder is gone (the release workflow does).
# Output: build\dist\MedGradDesktop-<version>-windows-<variant>-setup.exe; the version is pyproject's.
param([ValidateSet("cpu", "cuda")] [string]$Variant = "cpu", [switch]$TestInstall)
$ErrorActionPreference = "Stop"
$PSNativeCommandUseErrorActionPreference = $true  # PowerShell 7.3+: a failing native command stops too
$Root = Resolve-Path "$PSScriptRoot\..\.."
$Venv = Join-Path $env:TEMP "medgrad-bundle-$Variant"
function Check($What) { if ($LASTEXITCODE -ne 0) { throw "$What failed (exit $LASTEXITCODE)" } }

if (-not (Test-Path "$Venv\Scripts\python.exe")) {
    if ($env:pythonLocation) { & "$env:pythonLocation\python.exe" -m venv $Venv } else { py -3.11 -m venv $Venv }
    Check "creating the virtual environment"
}
$Py = "$Venv\Scripts\python.exe"
& $Py -m pip install -q --upgrade pip wheel; Check "pip"
if ($Variant -eq "cuda") { & $Py -m pip install -q torch torchvision --index-url https://download.pytorch.org/whl/cu130 }
else { & $Py -m pip install -q torch torchvision }
Check "installing torch"
& $Py -m pip install -q "$Root" pyinstaller; Check "installing the app"
& "$Venv\Scripts\pyinstaller.exe" --noconfirm --log-level WARN --distpath "$Root\build\dist" `
    --workpath "$Root\build\build" "$Root\build\medgrad.spec"
Check "PyInstaller"
$Dist = "$Root\build\dist\MedGradDesktop"
if (-not (Test-Path "$Dist\THIRD-PARTY-NOTICES.txt")) { throw "the bundle has no THIRD-PARTY-NOTICES.txt" }
Copy-Item "$Dist\THIRD-PARTY-NOTICES.txt" "$Root\build\dist\THIRD-PARTY-NOTICES-windows-$Variant.txt"

# The exe is a windowed app: its self-test prints nothing to a console, but the exit code tells.
function SelfTest($Exe) {
    $env:QT_QPA_PLATFORM = "offscreen"
    $p = Start-Process -FilePath $Exe -ArgumentList "--self-test" -Wait -PassThru
    Remove-Item Env:QT_QPA_PLATFORM
    if ($p.ExitCode -ne 0) { throw "self-test of $Exe failed (exit $($p.ExitCode))" }
    Write-Host "self-test passed: $Exe"
}
SelfTest "$Dist\MedGradDesktop.exe"

$Version = (& $Py "$Root\build\version.py"); Check "reading the version"
$Iscc = (Get-Command iscc.exe -ErrorAction SilentlyContinue).Source
if (-not $Iscc) { $Iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
if (-not (Test-Path $Iscc)) { throw "Inno Setup 6 not found: install it (https://jrsoftware.org/isdl.php)" }
& $Iscc "/DVariant=$Variant" "/DAppVersion=$Version" "$PSScriptRoot\medgrad.iss"; Check "Inno Setup"
$Setup = "$Root\build\dist\MedGradDesktop-$Version-windows-$Variant-setup.exe"
if (-not (Test-Path $Setup)) { throw "$Setup was not written" }
Write-Host "installer: $Setup"

if ($TestInstall) {
    # Per-user, silent (Inno Setup's /VERYSILENT /SUPPRESSMSGBOXES; /CURRENTUSER keeps it without admin
    # rights even where the dialog would offer all users), into a folder of our own.
    $Target = Join-Path $env:TEMP "medgrad-install-test"
    $SetupArgs = @("/VERYSILENT", "/SUPPRESSMSGBOXES", "/NORESTART", "/CURRENTUSER", "/DIR=`"$Target`"",
                   "/LOG=`"$Root\build\dist\windows-install.log`"")
    $p = Start-Process -FilePath $Setup -ArgumentList $SetupArgs -Wait -PassThru
    if ($p.ExitCode -ne 0) { throw "silent install failed (exit $($p.ExitCode))" }
    SelfTest "$Target\MedGradDesktop.exe"
    $p = Start-Process -FilePath "$Target\unins000.exe" -ArgumentList @("/VERYSILENT", "/SUPPRESSMSGBOXES", "/NORESTART") -Wait -PassThru
    if ($p.ExitCode -ne 0) { throw "silent uninstall failed (exit $($p.ExitCode))" }
    Start-Sleep -Seconds 5  # the uninstaller removes its own files from a copy of itself, just after it exits
    if (Test-Path "$Target\MedGradDesktop.exe") { throw "the uninstaller left $Target\MedGradDesktop.exe" }
    Write-Host "installed, self-tested and uninstalled: $Setup"
}
