#Requires -Version 5.1
#Requires -RunAsAdministrator
<#
.SYNOPSIS
    Captures what rrasfleet needs to diagnose the L2TP/IPsec certificate choice of this RRAS
    server (KB 2855053, error 787) into a folder: a capture bundle.

.DESCRIPTION
    Uses built-in tools only and changes nothing on the server. It writes, into -OutDir:

      host.txt                          Hostname, FQDN, OS, OEMCodePage, CollectedAt
      LocalMachine-My\NNN-<SHA1>.cer    every certificate of LocalMachine\My, DER, in the order
                                        the store enumerates them (NNN = 000, 001, ...)
      LocalMachine-My\private-keys.txt  thumbprints of the certificates that have a private key
      netsh-consec.txt                  netsh advfirewall consec show rule name=all verbose
      netsh-http-sslcert.txt            netsh http show sslcert
      reg-rasman.txt                    reg query HKLM\System\CurrentControlSet\Services\Rasman\Parameters
      reg-sstpsvc.txt                   reg query HKLM\System\CurrentControlSet\Services\SstpSvc\Parameters
      reg-policyagent.txt               reg query HKLM\System\CurrentControlSet\Services\PolicyAgent

    netsh and reg run through cmd.exe redirection so their files keep the exact bytes the tools
    write (the console OEM code page, CRLF), which is what the rrasfleet parsers expect.

    Nothing is sent anywhere: the bundle stays in -OutDir until you copy it yourself. It holds
    no private keys. A connection-security rule that uses a pre-shared key prints it in clear
    text (Auth1PSK); this script replaces that value with "(redacted)" in netsh-consec.txt
    before it finishes. Still treat the bundle as internal configuration data.

    Read the result with:
      rrasfleet-agent check --bundle <OutDir> --expected-ca "DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA"

.PARAMETER OutDir
    Folder to create (or an existing empty folder). Must not contain the characters " % ! ^.

.EXAMPLE
    powershell.exe -NoProfile -ExecutionPolicy Bypass -File .\capture.ps1 -OutDir C:\Temp\rras01-bundle
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string]$OutDir
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$CaptureVersion = '1.0'
$ToolTimeoutMs = 120000

# --- where the tools are ------------------------------------------------------------------------

# Absolute paths only (no PATH or current-folder lookup). A 32-bit PowerShell on 64-bit Windows
# sees SysWOW64 as System32; Sysnative reaches the real 64-bit tools.
$SystemDir = Join-Path $env:SystemRoot 'System32'
if ([Environment]::Is64BitOperatingSystem -and -not [Environment]::Is64BitProcess) {
    $SystemDir = Join-Path $env:SystemRoot 'Sysnative'
}
$CmdExe = Join-Path $SystemDir 'cmd.exe'
$NetshExe = Join-Path $SystemDir 'netsh.exe'
$RegExe = Join-Path $SystemDir 'reg.exe'

# Latin-1 maps every byte to one character and back, so text edits keep all other bytes as is.
$Latin1 = [System.Text.Encoding]::GetEncoding(28591)
$Utf8NoBom = New-Object System.Text.UTF8Encoding($false)

# --- output folder ------------------------------------------------------------------------------

if ($OutDir -match '["%!^]') {
    throw "OutDir must not contain any of the characters "" % ! ^ (they are special to cmd.exe)."
}
$OutDir = [System.IO.Path]::GetFullPath($OutDir)
if (Test-Path -LiteralPath $OutDir) {
    if (-not (Test-Path -LiteralPath $OutDir -PathType Container)) {
        throw "OutDir '$OutDir' exists and is not a folder."
    }
    if (@(Get-ChildItem -LiteralPath $OutDir -Force).Count -ne 0) {
        throw "OutDir '$OutDir' is not empty; choose a new folder so no old files mix in."
    }
} else {
    New-Item -ItemType Directory -Path $OutDir | Out-Null
}
$StoreDir = Join-Path $OutDir 'LocalMachine-My'
New-Item -ItemType Directory -Path $StoreDir | Out-Null

# --- helpers ------------------------------------------------------------------------------------

# Runs "<exe> <arguments> > <outfile> 2>&1" in cmd.exe so the file gets the tool's own bytes.
# CreateNoWindow gives cmd.exe a console of its own, so the tool writes in the system OEM code
# page (the one host.txt records), whatever code page this PowerShell window uses.
function Invoke-Redirected {
    param([string]$Exe, [string]$Arguments, [string]$OutFile)
    $psi = New-Object System.Diagnostics.ProcessStartInfo
    $psi.FileName = $CmdExe
    $psi.Arguments = '/d /s /c ""' + $Exe + '" ' + $Arguments + ' > "' + $OutFile + '" 2>&1"'
    $psi.UseShellExecute = $false
    $psi.CreateNoWindow = $true
    $psi.WorkingDirectory = $SystemDir
    $proc = [System.Diagnostics.Process]::Start($psi)
    try {
        if (-not $proc.WaitForExit($ToolTimeoutMs)) {
            $proc.Kill()
            Write-Warning "$([System.IO.Path]::GetFileName($OutFile)): '$Exe $Arguments' did not finish in $($ToolTimeoutMs / 1000) s and was stopped."
            return -1
        }
        return $proc.ExitCode
    } finally {
        $proc.Dispose()
    }
}

function Write-CrlfText {
    param([string]$Path, [string[]]$Lines)
    $text = ''
    foreach ($line in $Lines) {
        $text += $line + "`r`n"
    }
    [System.IO.File]::WriteAllText($Path, $text, $Utf8NoBom)
}

# Replaces the value of every Auth1PSK line (and any wrapped continuation of it) with
# "(redacted)". Returns how many keys were redacted.
function Protect-PreSharedKeys {
    param([string]$Path)
    if (-not (Test-Path -LiteralPath $Path)) {
        return 0
    }
    $text = $Latin1.GetString([System.IO.File]::ReadAllBytes($Path))
    $parts = [regex]::Split($text, '(?<=\n)')
    $out = New-Object System.Text.StringBuilder
    $count = 0
    $inKey = $false
    foreach ($part in $parts) {
        if ($part.Length -eq 0) {
            continue
        }
        $body = $part.TrimEnd([char[]]"`r`n")
        $eol = $part.Substring($body.Length)
        if ($body -match '^(Auth1PSK:\s*)') {
            [void]$out.Append($Matches[1] + '(redacted)' + $eol)
            $count++
            $inKey = $true
            continue
        }
        if ($inKey) {
            # netsh wraps long values onto unlabelled lines; drop those until the next label,
            # blank line, dash line or the closing "Ok.".
            $isLabel = ($body -match '^[^\s:][^:]*:\s*$') -or
                ($body.Length -gt 38 -and $body.Substring(0, 38) -match '^[^\s:][^:]*: +$')
            if ($body.Length -eq 0 -or $isLabel -or $body -match '^-+$' -or $body -match '^ok\.$') {
                $inKey = $false
            } else {
                continue
            }
        }
        [void]$out.Append($part)
    }
    if ($count -gt 0) {
        [System.IO.File]::WriteAllBytes($Path, $Latin1.GetBytes($out.ToString()))
    }
    return $count
}

# --- host.txt -----------------------------------------------------------------------------------

$hostname = $env:COMPUTERNAME
$fqdn = $null
try {
    $fqdn = [System.Net.Dns]::GetHostEntry($hostname).HostName
} catch {
    $fqdn = $null
}
if (-not $fqdn -or $fqdn -notmatch '\.') {
    $domain = (Get-CimInstance -ClassName Win32_ComputerSystem).Domain
    if ($domain -and $domain -ne 'WORKGROUP') {
        $fqdn = "$hostname.$domain"
    } else {
        $fqdn = $hostname
    }
}
$os = Get-CimInstance -ClassName Win32_OperatingSystem
$osText = ('{0} {1}' -f $os.Caption.Trim(), $os.Version)
$oemCp = (Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Nls\CodePage').OEMCP
if (-not $oemCp) {
    $oemCp = [Console]::OutputEncoding.CodePage
}
$collectedAt = (Get-Date).ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'",
    [System.Globalization.CultureInfo]::InvariantCulture)

# rrasfleet decodes code pages 437 and 850 and rejects any other OEMCodePage value, so another
# code page is recorded under a key the reader ignores (the files are then read as 437).
if ("$oemCp" -eq '437' -or "$oemCp" -eq '850') {
    $cpLine = "OEMCodePage: $oemCp"
} else {
    $cpLine = "SystemOEMCodePage: $oemCp"
    Write-Warning "OEM code page ${oemCp}: rrasfleet decodes 437 and 850 only; the captures will be read as 437 (ASCII text is unaffected)."
}
Write-CrlfText -Path (Join-Path $OutDir 'host.txt') -Lines @(
    "Hostname: $hostname",
    "FQDN: $fqdn",
    "OS: $osText",
    $cpLine,
    "CollectedAt: $collectedAt",
    "CaptureVersion: $CaptureVersion"
)

# --- LocalMachine\My ----------------------------------------------------------------------------

$withKey = New-Object System.Collections.Generic.List[string]
$index = 0
foreach ($cert in @(Get-ChildItem -Path 'Cert:\LocalMachine\My')) {
    $thumb = $cert.Thumbprint.ToUpperInvariant()
    $file = Join-Path $StoreDir ('{0:D3}-{1}.cer' -f $index, $thumb)
    try {
        [System.IO.File]::WriteAllBytes($file, $cert.RawData)
        if ($cert.HasPrivateKey) {
            $withKey.Add($thumb)
        }
    } catch {
        Write-Warning "certificate $thumb could not be exported: $($_.Exception.Message)"
    }
    $index++
}
Write-CrlfText -Path (Join-Path $StoreDir 'private-keys.txt') -Lines $withKey.ToArray()

# --- netsh and reg ------------------------------------------------------------------------------

$captures = @(
    @{ File = 'netsh-consec.txt'; Exe = $NetshExe; Args = 'advfirewall consec show rule name=all verbose' },
    @{ File = 'netsh-http-sslcert.txt'; Exe = $NetshExe; Args = 'http show sslcert' },
    @{ File = 'reg-rasman.txt'; Exe = $RegExe; Args = 'query "HKLM\System\CurrentControlSet\Services\Rasman\Parameters"' },
    @{ File = 'reg-sstpsvc.txt'; Exe = $RegExe; Args = 'query "HKLM\System\CurrentControlSet\Services\SstpSvc\Parameters"' },
    @{ File = 'reg-policyagent.txt'; Exe = $RegExe; Args = 'query "HKLM\System\CurrentControlSet\Services\PolicyAgent"' }
)
foreach ($c in $captures) {
    $path = Join-Path $OutDir $c.File
    $code = Invoke-Redirected -Exe $c.Exe -Arguments $c.Args -OutFile $path
    # netsh exits 1 for "No rules match the specified criteria." and reg exits 1 for a missing
    # key; both outputs are data for the parsers, so only report the code here.
    Write-Verbose "$($c.File): exit code $code"
}

$redacted = Protect-PreSharedKeys -Path (Join-Path $OutDir 'netsh-consec.txt')
if ($redacted -gt 0) {
    Write-Warning "netsh-consec.txt held $redacted pre-shared key(s) (Auth1PSK); the value(s) were replaced with (redacted)."
}

# --- summary ------------------------------------------------------------------------------------

Write-Host "Capture bundle written to $OutDir"
Write-Host ("  {0} certificate(s) from LocalMachine\My, {1} with a private key" -f $index, $withKey.Count)
foreach ($c in $captures) {
    $len = (Get-Item -LiteralPath (Join-Path $OutDir $c.File)).Length
    if ($len -eq 0) {
        Write-Warning "$($c.File) is empty: the tool printed nothing."
    }
}
Write-Host 'Nothing was sent anywhere. Copy the folder to a machine with rrasfleet-agent and run:'
Write-Host "  rrasfleet-agent check --bundle <folder> --expected-ca ""<the CA your L2TP clients trust>"""
