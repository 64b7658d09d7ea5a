# Build the Windows bundle and its Inno Setup installer.
#   powershell -ExecutionPolicy Bypass -File build\windows\build.ps1 [-Variant cpu|cuda]
# Needs Python 3.11 (py launcher) and Inno Setup 6 (iscc.exe on PATH or in its default folder).
# cpu: PyPI's Windows torch wheels are CPU-only already. cuda: wheels from download.pytorch.org (cu130).
param([ValidateSet("cpu", "cuda")] [string]$Variant = "cpu")
$ErrorActionPreference = "Stop"
$Root = Resolve-Path "$PSScriptRoot\..\.."
$Venv = Join-Path $env:TEMP "medgrad-bundle-$Variant"
if (-not (Test-Path "$Venv\Scripts\python.exe")) { py -3.11 -m venv $Venv }
$Py = "$Venv\Scripts\python.exe"
& $Py -m pip install -q --upgrade pip wheel
if ($Variant -eq "cuda") { & $Py -m pip install -q torch torchvision --index-url https://download.pytorch.org/whl/cu130 }
else { & $Py -m pip install -q torch torchvision }
& $Py -m pip install -q "$Root" pyinstaller
& "$Venv\Scripts\pyinstaller.exe" --noconfirm --log-level WARN --distpath "$Root\build\dist" `
    --workpath "$Root\build\build" "$Root\build\medgrad.spec"
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed" }
# The exe is a windowed app: its self-test prints nothing to a console, but the exit code tells.
$env:QT_QPA_PLATFORM = "offscreen"
$p = Start-Process -FilePath "$Root\build\dist\MedGradDesktop\MedGradDesktop.exe" -ArgumentList "--self-test" -Wait -PassThru
Remove-Item Env:QT_QPA_PLATFORM
if ($p.ExitCode -ne 0) { throw "self-test of the bundle failed (exit $($p.ExitCode))" }
$Version = (& $Py -c "import medgrad_desktop; print(medgrad_desktop.__version__)")
$Iscc = (Get-Command iscc.exe -ErrorAction SilentlyContinue).Source
if (-not $Iscc) { $Iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
& $Iscc "/DVariant=$Variant" "/DAppVersion=$Version" "$PSScriptRoot\medgrad.iss"
if ($LASTEXITCODE -ne 0) { throw "Inno Setup failed" }
