"""Key rotation as an operator does it (new key first, rotate, drop the old one) and the
errors a person gets when keys or stored values are wrong: each names what to fix."""

import pytest
from cryptography.fernet import Fernet

from store.crypto import SecretBox, load_keys, mask
from store.errors import SecretError

SECRET = {"access_token": "pat-na1-rotate-me", "expires_at": 1_704_067_200}


def _key() -> str:
    return Fernet.generate_key().decode()


def test_encryption_uses_the_newest_key_and_reads_under_any_configured_one() -> None:
    old, new = _key(), _key()
    stored_before = SecretBox([old]).encrypt(SECRET)
    both = SecretBox([new, old])
    assert both.decrypt(stored_before) == SECRET  # old values stay readable during rotation
    written_now = both.encrypt(SECRET)
    assert SecretBox([new]).decrypt(written_now) == SECRET  # the old key can be dropped
    with pytest.raises(SecretError):
        SecretBox([old]).decrypt(written_now)


def test_rotation_moves_a_value_to_the_newest_key() -> None:
    old, new = _key(), _key()
    stored = SecretBox([old]).encrypt(SECRET)
    rotated = SecretBox([new, old]).rotate(stored)
    assert rotated != stored
    assert SecretBox([new]).decrypt(rotated) == SECRET
    with pytest.raises(SecretError):
        SecretBox([old]).decrypt(rotated)


def test_rotating_a_value_no_key_can_read_is_a_clear_error() -> None:
    stored = SecretBox([_key()]).encrypt(SECRET)
    with pytest.raises(SecretError, match="cannot be decrypted with any configured key"):
        SecretBox([_key(), _key()]).rotate(stored)


def test_a_stored_value_that_is_not_an_object_is_refused() -> None:
    key = _key()
    token = Fernet(key.encode()).encrypt(b'["not", "an", "object"]').decode()
    with pytest.raises(SecretError, match="not a JSON object"):
        SecretBox([key]).decrypt(token)


def test_no_key_and_a_malformed_key_are_named() -> None:
    with pytest.raises(SecretError, match="no encryption key configured"):
        SecretBox([])
    with pytest.raises(SecretError, match="not a valid Fernet key"):
        SecretBox([_key(), "not-a-fernet-key"])


def test_configured_keys_win_over_the_key_file(tmp_path) -> None:
    configured = (_key(), _key())
    assert load_keys(configured, tmp_path) == list(configured)
    assert not (tmp_path / "secret.key").exists()  # nothing written when keys are set


def test_a_key_file_holds_keys_newest_first_and_ignores_blank_lines(tmp_path) -> None:
    new, old = _key(), _key()
    (tmp_path / "secret.key").write_text(f"\n  {new}  \n\n{old}\n")
    keys = load_keys((), tmp_path)
    assert keys == [new, old]
    assert SecretBox(keys).decrypt(SecretBox([old]).encrypt(SECRET)) == SECRET


def test_an_empty_key_file_is_an_error_naming_the_file(tmp_path) -> None:
    (tmp_path / "secret.key").write_text("\n \n")
    with pytest.raises(SecretError, match=r"secret\.key is empty"):
        load_keys((), tmp_path)


def test_the_key_file_is_created_in_a_data_dir_that_does_not_exist_yet(tmp_path) -> None:
    data_dir = tmp_path / "fresh" / "data"
    keys = load_keys((), data_dir)
    assert len(keys) == 1 and (data_dir / "secret.key").exists()
    assert SecretBox(keys).decrypt(SecretBox(keys).encrypt(SECRET)) == SECRET


@pytest.mark.parametrize(("value", "hint"), [
    ("12345678", "••••••••"),
    ("abc", "•••"),
    ("123456789", "123…6789"),
])
def test_mask_shows_nothing_of_a_short_secret(value: str, hint: str) -> None:
    assert mask(value) == hint
