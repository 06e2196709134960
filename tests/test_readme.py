"""The README documents every environment variable that settings read."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_variable_is_in_the_readme():
    settings_source = (ROOT / "portal" / "settings.py").read_text()
    variables = set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z_]+)"', settings_source))
    assert len(variables) > 20
    readme = (ROOT / "README.md").read_text()
    missing = sorted(v for v in variables if f"`{v}`" not in readme)
    assert missing == []
