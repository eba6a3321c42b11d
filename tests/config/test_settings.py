from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from afas_tray.config import Settings, load, save, set_value, validate
from afas_tray.i18n import set_language
from afas_tray.system import logs
from afas_tray.system.paths import app_paths
from afas_tray.system.profile import Profile

TOKEN = "<token><version>1</version><data>5EC12E7DA7A0000000000000000000000000000000000000000000000000CAFE</data></token>"


def good() -> Settings:
    s = Settings()
    s.afas.host = "https://12345.rest.afas.online"
    s.afas.insite_url_template = "https://12345.afasinsite.nl/verkooprelatie-prs?BcId=<BCID>"
    s.afas.token = TOKEN
    return s


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "afas_tray", *args], input=stdin,
                          capture_output=True, text=True, env=os.environ.copy(), timeout=60)


def test_home_env_puts_everything_under_one_folder(profile_home: Path) -> None:
    p = app_paths()
    assert p.config_dir.is_relative_to(profile_home) and p.data_dir.is_relative_to(profile_home)
    assert p.log_dir.is_relative_to(profile_home)


@pytest.mark.parametrize("host", ["https://12345.rest.afas.online", "https://12345.resttest.afas.online",
                                  "https://12345.restaccept.afas.online", "http://127.0.0.1:8765",
                                  "https://localhost:9000"])
def test_valid_hosts(host: str) -> None:
    s = good()
    s.afas.host = host
    assert "afas.host" not in validate(s)


@pytest.mark.parametrize("host", ["http://12345.rest.afas.online", "https://example.com",
                                  "https://1234.rest.afas.online", "12345.rest.afas.online",
                                  "https://12345.rest.afas.online/ProfitRestServices", "http://10.0.0.1"])
def test_invalid_hosts_explain_in_both_languages(host: str) -> None:
    s = good()
    s.afas.host = host
    msg = validate(s)["afas.host"]
    assert "afas.online" in msg.en and "afas.online" in msg.nl and msg.en != msg.nl


def test_template_needs_bcid_and_dossier_type_numeric() -> None:
    s = good()
    s.afas.insite_url_template = "https://12345.afasinsite.nl/verkooprelatie-prs?BcId=1"
    assert "<BCID>" in validate(s)["afas.insite_url_template"].nl
    with pytest.raises(Exception, match="dossier_item_type"):
        set_value(s, "afas.dossier_item_type", "abc")
    s.afas.insite_url_template = "https://12345.afasinsite.nl/verkooprelatie-prs?BcId=<BCID>"
    set_value(s, "afas.dossier_item_type", "7")
    assert s.afas.dossier_item_type == 7 and validate(s) == {}
    # <BCCO> (the number) is a template too; -5 is a valid type, other negatives are not.
    s.afas.insite_url_template = "https://12345.afasinsite.nl/verkooprelatie-prs?BcId=<BCCO>"
    set_value(s, "afas.dossier_item_type", "-5")
    assert validate(s) == {}
    set_value(s, "afas.dossier_item_type", "-4")
    assert "-5" in validate(s)["afas.dossier_item_type"].en
    set_value(s, "afas.connectors.link_by", "Id")
    s.afas.dossier_item_type = 7
    assert s.afas.connectors.link_by == "id" and validate(s) == {}
    set_value(s, "afas.connectors.link_by", "bcco")
    assert "afas.connectors.link_by" in validate(s)


def test_save_is_atomic_json_without_secrets() -> None:
    paths = app_paths().ensure()
    profile = Profile(paths)
    profile.save(good())
    text = paths.settings_file.read_text()
    assert "5EC12E7DA7A" not in text and json.loads(text)["version"] == 1
    assert not list(paths.config_dir.glob(".settings-*"))  # no temp file left behind
    again = Profile(paths).load().settings
    assert again.afas.token == TOKEN and again.afas.host == "https://12345.rest.afas.online"
    secret_file = paths.secrets_file
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600


def test_corrupt_file_is_kept_aside_and_reported() -> None:
    paths = app_paths().ensure()
    paths.settings_file.write_text('{"version": 1, "afas": {"host": ')
    result = load(paths)
    assert result.problem is not None and "settings.json.bak" in result.problem.en
    assert paths.settings_file.with_name("settings.json.bak").read_text().startswith('{"version"')
    assert result.settings == Settings()
    save(paths, result.settings)  # writing afterwards leaves the .bak alone
    assert paths.settings_file.with_name("settings.json.bak").exists()


def test_secrets_redacted_in_logs(tmp_path: Path) -> None:
    paths = app_paths().ensure()
    logs.setup_logging(paths)
    Profile(paths).save(good())
    logging.getLogger("t").warning("header Authorization: AfasToken QUJDREVGRw== body %s", TOKEN)
    logging.getLogger("t").warning('login {"userName": "op", "password": "hunter22"}')
    for h in logging.getLogger().handlers:
        h.flush()
    text = paths.log_file.read_text()
    assert "QUJDREVGRw" not in text and "5EC12E7DA7A" not in text and "hunter22" not in text
    assert "AfasToken ***" in text


def test_cli_config_set_get_show_and_refusals() -> None:
    assert cli("config", "set", "afas.host", "https://12345.rest.afas.online").returncode == 0
    assert cli("config", "get", "afas.host").stdout.strip() == "https://12345.rest.afas.online"
    r = cli("config", "set", "afas.token", "-", stdin=TOKEN + "\n")
    assert r.returncode == 0
    shown = cli("config", "show")
    assert "afas.token = (set)" in shown.stdout and "5EC12E7DA7A" not in shown.stdout
    assert "5EC12E7DA7A" not in app_paths().settings_file.read_text()
    before = app_paths().settings_file.read_text()
    for args in (["config", "set", "afas.nope", "1"], ["config", "set", "afas.host", "http://x.nl"],
                 ["config", "set", "sync.interval_minutes", "soon"]):
        r = cli(*args)
        assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1
    assert app_paths().settings_file.read_text() == before


def test_cli_import_all_or_nothing(tmp_path: Path) -> None:
    good_file = tmp_path / "preset.json"
    good_file.write_text(json.dumps({"afas": {"host": "https://54321.rest.afas.online",
                                              "insite_url_template": "https://54321.afasinsite.nl/x?BcId=<BCID>",
                                              "connectors": {"persons": "Mijn_Personen"}},
                                     "sync": {"interval_minutes": 15}}))
    assert cli("config", "import", str(good_file)).returncode == 0
    assert cli("config", "get", "afas.connectors.persons").stdout.strip() == "Mijn_Personen"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"sync": {"interval_minutes": 30}, "afas": {"host": "ftp://x"}}))
    r = cli("config", "import", str(bad))
    assert r.returncode != 0 and "afas.host" in r.stderr
    assert cli("config", "get", "sync.interval_minutes").stdout.strip() == "15"


def test_dutch_messages() -> None:
    set_language("nl")
    try:
        s = good()
        s.sync.interval_minutes = 0
        assert "minuten" in str(validate(s)["sync.interval_minutes"])
    finally:
        set_language(None)


def test_token_form_is_checked_without_echoing_it() -> None:
    s = good()
    s.afas.token = "not a token at all"
    msg = validate(s)["afas.token"]
    assert "not a token" not in msg.en and "not a token" not in msg.nl
    s.afas.token = "5EC12E7DA7A0000000000000000000000000000000000000000000000000CAFE"  # bare data
    assert "afas.token" not in validate(s)
    r = cli("config", "set", "afas.token", "-", stdin="hunter2 is my password\n")
    assert r.returncode != 0 and "hunter2" not in r.stderr
