"""Settings: declared once; defaults, then QA_* variables, then keyword overrides."""
import dataclasses
from pathlib import Path

import pytest

from qa.config import Config, env_name, settings, settings_table, type_name
from qa.errors import ConfigError


def test_defaults_then_env_then_overrides(monkeypatch, tmp_path):
    assert Config.load().top_k == 16 and Config.load().data_dir == Path(".qa")
    monkeypatch.setenv("QA_TOP_K", "6")
    monkeypatch.setenv("QA_DATA_DIR", str(tmp_path))
    config = Config.load()
    assert config.top_k == 6 and config.data_dir == tmp_path
    assert Config.load(top_k=2).top_k == 2
    assert Config.load(top_k=None).top_k == 6  # an unset CLI flag keeps the env value


def test_every_setting_reads_its_qa_variable(monkeypatch, tmp_path):
    raw = {"int": "7", "float": "0.4", "Path": str(tmp_path), "str": "openai"}
    for f in settings():
        monkeypatch.setenv(env_name(f.name), raw[type_name(f)])
    chosen = {"api_base": "http://127.0.0.1:9/v1",  # the openai LLM needs one
              "store_type": "q8"}  # one of a few
    for name, value in chosen.items():
        monkeypatch.setenv(env_name(name), value)
    config = Config.load()
    for f in settings():
        expected = chosen.get(f.name, raw[type_name(f)])
        assert str(getattr(config, f.name)) == expected, f.name


def test_paths_expand_the_home_folder(monkeypatch):
    monkeypatch.setenv("QA_MODEL_DIR", "~/models")
    assert Config.load().model_dir == Path.home() / "models"


def test_bad_values_say_what_to_fix(monkeypatch):
    monkeypatch.setenv("QA_TOP_K", "many")
    with pytest.raises(ConfigError, match="QA_TOP_K must be an int, not 'many'"):
        Config.load()
    monkeypatch.delenv("QA_TOP_K")
    with pytest.raises(ConfigError, match="top_k must be at least 1, not 0"):
        Config.load(top_k=0)
    with pytest.raises(ConfigError, match="min_similarity must be between 0 and 1, not 1.5"):
        Config.load(min_similarity=1.5)
    with pytest.raises(ConfigError, match="llm must be 'local' or 'openai'"):
        Config.load(llm="gpt")
    with pytest.raises(ConfigError, match="--api-base"):
        Config.load(llm="openai")
    with pytest.raises(ConfigError, match="Unknown setting 'topk'"):
        Config.load(topk=3)


def test_string_overrides_are_coerced_like_variables():
    config = Config.load(top_k="3", min_similarity="0.25", data_dir="somewhere")
    assert (config.top_k, config.min_similarity, config.data_dir) == (3, 0.25, Path("somewhere"))


def test_api_key_from_openai_env_and_never_shown(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    config = Config.load()
    assert config.api_key == "sk-secret"
    assert "sk-secret" not in str(config.public()) and "sk-secret" not in repr(config)
    monkeypatch.setenv("QA_API_KEY", "sk-other")
    assert Config.load().api_key == "sk-other"
    assert Config.load(api_key="").public()["api_key"] == ""


def test_the_settings_table_lists_every_setting_and_no_flag_for_the_key():
    table = settings_table()
    for f in dataclasses.fields(Config):
        assert f"`{env_name(f.name)}`" in table and f.metadata["help"]
    assert "`--api-key`" not in table and "`--top-k`" in table
