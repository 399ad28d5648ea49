import pytest

from qa.config import Config
from qa.errors import ConfigError


def test_defaults_then_env_then_overrides(monkeypatch, tmp_path):
    assert Config.load().top_k == 8
    monkeypatch.setenv("QA_TOP_K", "6")
    monkeypatch.setenv("QA_DATA_DIR", str(tmp_path))
    config = Config.load()
    assert config.top_k == 6 and config.data_dir == tmp_path
    assert Config.load(top_k=2).top_k == 2
    assert Config.load(top_k=None).top_k == 6  # an unset CLI flag keeps the env value


def test_bad_values_say_what_to_fix(monkeypatch):
    monkeypatch.setenv("QA_TOP_K", "many")
    with pytest.raises(ConfigError, match="QA_TOP_K must be a int"):
        Config.load()
    monkeypatch.delenv("QA_TOP_K")
    with pytest.raises(ConfigError, match="at least 1"):
        Config.load(top_k=0)
    with pytest.raises(ConfigError, match="--api-base"):
        Config.load(llm="openai")
    with pytest.raises(ConfigError, match="Unknown setting"):
        Config.load(topk=3)


def test_api_key_from_openai_env_and_never_shown(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    config = Config.load()
    assert config.api_key == "sk-secret"
    assert "sk-secret" not in str(config.public())
    monkeypatch.setenv("QA_API_KEY", "sk-other")
    assert Config.load().api_key == "sk-other"
