; AFAS Tray: per-user Windows installer (Inno Setup 6.3 or later). No administrator rights needed.
;
; Built by `python packaging/build.py --installer`, which passes the defines below:
;   iscc /DAppVersion=0.1.0 /DSourceDir=dist\afas-tray /DIconFile=build\icons\afas-tray.ico /Odist packaging\windows\afas-tray.iss
;
; For IT (see packaging/README.md):
;   afas-tray-<version>-setup.exe /VERYSILENT /SUPPRESSMSGBOXES [/PRESET="\\server\share\afas-tray.json"]
;                                 [/MERGETASKS="!autostart"] [/LOG="%TEMP%\afas-tray-setup.log"]
;   A file named afas-tray-settings.json next to the setup program is applied the same way.
;   Uninstall: "%LOCALAPPDATA%\Programs\AFAS Tray\unins000.exe" /VERYSILENT [/PURGE]

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef NumericVersion
  ; The VersionInfo*Version keys take digits only (a.b.c.d); build.py passes 0.2.0 for 0.2.0rc1.
  #define NumericVersion AppVersion
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\afas-tray"
#endif
#ifndef IconFile
  #define IconFile "..\..\build\icons\afas-tray.ico"
#endif

#define AppGuid "676E3532-AB97-47F4-AA8B-8114F23E35FE"
#define AppName "AFAS Tray"
#define AppExe "afas-tray.exe"
#ifndef CliExe
  ; packaging/windows/check_installer.py swaps in a stand-in batch file under Wine.
  #define CliExe "afas-tray-cli.exe"
#endif
#ifndef InstallDir
  ; Test-only override (check_installer.py): Wine has no per-user Programs folder for {autopf}.
  #define InstallDir "{autopf}\" + AppName
#endif
#define UrlScheme "afas-tray"
; The app's own "start at login" switch (afas_tray/system/autostart.py) uses this same key and value name.
#define RunKey "Software\Microsoft\Windows\CurrentVersion\Run"
#define ApprovedKey "Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
; platformdirs' folder for settings, phone book and logs: %LOCALAPPDATA%\afas-tray
#define DataDir "{localappdata}\afas-tray"
#define PresetName "afas-tray-settings.json"

[Setup]
; Never change AppId: upgrades and the uninstaller find earlier installs by it.
AppId={{{#AppGuid}}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppName}
AppComments=Caller pop and call reports for Xelion and AFAS Profit
VersionInfoVersion={#NumericVersion}
VersionInfoTextVersion={#AppVersion}
VersionInfoProductName={#AppName}
VersionInfoProductVersion={#NumericVersion}
VersionInfoProductTextVersion={#AppVersion}
VersionInfoDescription={#AppName} Setup
; Per user, no UAC prompt: {autopf} is then %LOCALAPPDATA%\Programs, {autoprograms} the user's Start menu.
PrivilegesRequired=lowest
DefaultDirName={#InstallDir}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputBaseFilename=afas-tray-{#AppVersion}-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
WizardStyle=modern
Compression=lzma2/max
SolidCompression=yes
; The running tray app holds its files: close it through Restart Manager when upgrading.
CloseApplications=yes
RestartApplications=no
; The afas-tray:// scheme is registered: have Explorer refresh its associations.
ChangesAssociations=yes

[Languages]
Name: "nl"; MessagesFile: "compiler:Languages\Dutch.isl"
Name: "en"; MessagesFile: "compiler:Default.isl"

[CustomMessages]
en.AutostartTask=Start {#AppName} when I sign in to Windows
nl.AutostartTask={#AppName} starten wanneer ik me aanmeld bij Windows
en.ApplyingPreset=Applying the preset settings...
nl.ApplyingPreset=Vooraf ingestelde instellingen toepassen...
en.PresetFailed=The preset settings in %1 could not be applied (code %2). Open AFAS Tray's settings to finish the setup.
nl.PresetFailed=De vooraf ingestelde instellingen in %1 konden niet worden toegepast (code %2). Open de instellingen van AFAS Tray om de installatie af te ronden.
en.PurgeQuestion=Also remove your AFAS Tray settings, saved passwords, phone book and logs?%n%nChoose No to keep them for a later installation.
nl.PurgeQuestion=Ook uw AFAS Tray-instellingen, opgeslagen wachtwoorden, telefoonboek en logbestanden verwijderen?%n%nKies Nee om ze te bewaren voor een latere installatie.
; Shown by Windows for the tel:/callto: registration (Default apps, the link's file type).
en.PhoneLinkDescription=Dial phone numbers through Xelion
nl.PhoneLinkDescription=Telefoonnummers bellen via Xelion
en.PhoneLinkName={#AppName} phone link
nl.PhoneLinkName={#AppName}-telefoonlink

[Tasks]
; Checked by default: operators install once and forget it is there. IT opts out with /MERGETASKS="!autostart".
; Only offered on a first install: from then on the app's own "Start at login" switch owns the
; Run value, and an upgrade leaves it as the user set it (Inno would otherwise replay the
; remembered task, UsePreviousTasks, and delete a value the switch wrote).
Name: "autostart"; Description: "{cm:AutostartTask}"; Check: IsFirstInstall

[InstallDelete]
; A new bundle replaces the old one whole: stale Qt plugins of an older build must not be loaded.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"

[Registry]
; URL schemes under HKCU\Software\Classes (no admin rights needed), one block per scheme; each
; scheme also goes into SCHEMES in check_installer.py.
; afas-tray://call?number=... opens (or reaches the running) AFAS Tray.
Root: HKCU; Subkey: "Software\Classes\{#UrlScheme}"; ValueType: string; ValueName: ""; ValueData: "URL:{#AppName} call"; Flags: uninsdeletekey
Root: HKCU; Subkey: "Software\Classes\{#UrlScheme}"; ValueType: string; ValueName: "URL Protocol"; ValueData: ""
Root: HKCU; Subkey: "Software\Classes\{#UrlScheme}\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"",0"
Root: HKCU; Subkey: "Software\Classes\{#UrlScheme}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
; tel:/callto: links (issue 16): AFAS Tray offers itself under Settings > Apps > Default apps
; (RegisteredApplications + Capabilities\URLAssociations, per user). Windows lets only the user
; make it the default; until then a phone link still opens the app chosen before. Each scheme and
; ProgID here also goes into LINK_SCHEMES / PROG_IDS in check_installer.py.
Root: HKCU; Subkey: "Software\RegisteredApplications"; ValueType: string; ValueName: "{#AppName}"; ValueData: "Software\{#AppName}\Capabilities"; Flags: uninsdeletevalue
Root: HKCU; Subkey: "Software\{#AppName}"; Flags: uninsdeletekeyifempty
Root: HKCU; Subkey: "Software\{#AppName}\Capabilities"; ValueType: string; ValueName: "ApplicationName"; ValueData: "{#AppName}"; Flags: uninsdeletekey
Root: HKCU; Subkey: "Software\{#AppName}\Capabilities"; ValueType: string; ValueName: "ApplicationDescription"; ValueData: "{cm:PhoneLinkDescription}"
Root: HKCU; Subkey: "Software\{#AppName}\Capabilities"; ValueType: string; ValueName: "ApplicationIcon"; ValueData: """{app}\{#AppExe}"",0"
Root: HKCU; Subkey: "Software\{#AppName}\Capabilities\URLAssociations"; ValueType: string; ValueName: "tel"; ValueData: "AfasTray.PhoneLink"
Root: HKCU; Subkey: "Software\{#AppName}\Capabilities\URLAssociations"; ValueType: string; ValueName: "callto"; ValueData: "AfasTray.PhoneLink"
Root: HKCU; Subkey: "Software\Classes\AfasTray.PhoneLink"; ValueType: string; ValueName: ""; ValueData: "{cm:PhoneLinkName}"; Flags: uninsdeletekey
Root: HKCU; Subkey: "Software\Classes\AfasTray.PhoneLink"; ValueType: string; ValueName: "URL Protocol"; ValueData: ""
Root: HKCU; Subkey: "Software\Classes\AfasTray.PhoneLink\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"",0"
Root: HKCU; Subkey: "Software\Classes\AfasTray.PhoneLink\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
; Start at login: the task sets the first state only (see [Tasks]); an upgrade never writes or
; deletes the value. The uninstaller removes it ([Code], usPostUninstall).
Root: HKCU; Subkey: "{#RunKey}"; ValueType: string; ValueName: "{#AppName}"; ValueData: """{app}\{#AppExe}"""; Tasks: autostart; Check: IsFirstInstall
Root: HKCU; Subkey: "{#ApprovedKey}"; ValueType: none; ValueName: "{#AppName}"; Tasks: autostart; Check: IsFirstInstall; Flags: deletevalue dontcreatekey

[UninstallDelete]
Type: filesandordirs; Name: "{app}\_internal"

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[Code]
var
  Purge: Boolean;
  FirstInstall: Boolean;

{ Inno keeps its uninstall key under the AppId; present means this is an upgrade (or repair). }
function InitializeSetup(): Boolean;
begin
  FirstInstall := not RegKeyExists(HKEY_CURRENT_USER,
    'Software\Microsoft\Windows\CurrentVersion\Uninstall\{{#AppGuid}}_is1');
  Result := True;
end;

function IsFirstInstall(): Boolean;
begin
  Result := FirstInstall;
end;

function HasSwitch(const Name: String): Boolean;
var
  I: Integer;
begin
  Result := False;
  for I := 1 to ParamCount do
    if CompareText(ParamStr(I), Name) = 0 then
      Result := True;
end;

{ /PRESET="file" on the command line, else afas-tray-settings.json next to the setup program.
  A relative /PRESET path is taken from the setup program's own folder (src): Setup runs in
  the system folder, so the caller's current folder is not known here. }
function PresetFile(): String;
var
  Src: String;
begin
  Result := ExpandConstant('{param:PRESET|}');
  if Result <> '' then
  begin
    Src := ExpandConstant('{src}');
    if ExtractFileDrive(Result) = '' then
    begin
      if (Copy(Result, 1, 1) = '\') or (Copy(Result, 1, 1) = '/') then
        Result := ExtractFileDrive(Src) + Result  { \dir\file: rooted on the setup's drive }
      else
        Result := AddBackslash(Src) + Result;
    end;
    Result := ExpandFileName(Result);
  end
  else begin
    Result := ExpandConstant('{src}\{#PresetName}');
    if not FileExists(Result) then
      Result := '';
  end;
end;

{ `afas-tray config import` validates every key first and writes all or nothing; secrets in the
  file (AFAS token, Xelion password) go to Windows Credential Manager, not to disk. }
procedure ApplyPreset();
var
  Preset: String;
  Code: Integer;
begin
  Preset := PresetFile();
  if Preset = '' then
    Exit;
  WizardForm.StatusLabel.Caption := CustomMessage('ApplyingPreset');
  Log('Applying preset settings from ' + Preset);
  if not Exec(ExpandConstant('{app}\{#CliExe}'), 'config import "' + Preset + '"', '',
              SW_HIDE, ewWaitUntilTerminated, Code) or (Code <> 0) then
  begin
    Log(Format('Preset not applied (exit code %d)', [Code]));
    SuppressibleMsgBox(FmtMessage(CustomMessage('PresetFailed'), [Preset, IntToStr(Code)]),
                       mbError, MB_OK, IDOK);
  end;
end;

procedure CurStepChanged(CurStep: TSetupStep);
begin
  if CurStep = ssPostInstall then
    ApplyPreset();
end;

{ Stop this user's running tray app so its files can be removed (other users' are not ours). }
procedure StopRunningApp();
var
  Code: Integer;
begin
  Exec(ExpandConstant('{sys}\taskkill.exe'),
       '/F /IM {#AppExe} /FI "USERNAME eq ' + GetUserNameString() + '"', '',
       SW_HIDE, ewWaitUntilTerminated, Code);
end;

{ Clear the secrets the app keeps in Credential Manager, while its CLI is still installed. }
procedure ForgetSecrets();
var
  Code: Integer;
begin
  Exec(ExpandConstant('{app}\{#CliExe}'), 'config set afas.token ""', '', SW_HIDE, ewWaitUntilTerminated, Code);
  Exec(ExpandConstant('{app}\{#CliExe}'), 'config set xelion.password ""', '', SW_HIDE, ewWaitUntilTerminated, Code);
  Exec(ExpandConstant('{app}\{#CliExe}'), 'config set trigger.secret ""', '', SW_HIDE, ewWaitUntilTerminated, Code);
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usUninstall then
  begin
    { Settings are kept unless asked: /PURGE, or Yes to the question (never asked when silent). }
    Purge := HasSwitch('/PURGE');
    if not Purge and not UninstallSilent() then
      Purge := SuppressibleMsgBox(CustomMessage('PurgeQuestion'), mbConfirmation,
                                  MB_YESNO or MB_DEFBUTTON2, IDNO) = IDYES;
    StopRunningApp();
    if Purge then
      ForgetSecrets();
  end;
  if CurUninstallStep = usPostUninstall then
  begin
    { The app's own start-at-login switch may have written these without the installer's task. }
    RegDeleteValue(HKEY_CURRENT_USER, '{#RunKey}', '{#AppName}');
    RegDeleteValue(HKEY_CURRENT_USER, '{#ApprovedKey}', '{#AppName}');
    if Purge then
      DelTree(ExpandConstant('{#DataDir}'), True, True, True);
  end;
end;
