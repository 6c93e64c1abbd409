"""Every setting is documented in the README's configuration table."""

from pathlib import Path

from app.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_is_in_the_readme():
    text = README.read_text()
    table = text.split("<!-- settings-table -->")[1].split("<!-- end settings-table -->")[0]
    missing = [name for name in Settings.model_fields if f"`PUSHWIRE_{name.upper()}`" not in table]
    assert missing == [], f"document these settings in README.md: {missing}"
