import pytest

from acekit.keys import Key, KeyParseError, canonical_key, parse_key


@pytest.mark.parametrize(
    ("text", "canonical", "pc"),
    [
        ("A minor", "A minor", 9), ("Am", "A minor", 9), ("a:min", "A minor", 9), ("A Minor", "A minor", 9),
        ("F#m", "F# minor", 6), ("Gb major", "Gb major", 6), ("C", "C major", 0), ("Bbmin", "Bb minor", 10),
        ("E♭ major", "Eb major", 3), ("c# minor", "C# minor", 1), ("A-minor", "A minor", 9),
        ("Amaj", "A major", 9), ("C Major", "C major", 0), ("bm", "B minor", 11), ("Cb major", "Cb major", 11),
        ("F sharp minor", "F# minor", 6), ("  d  ", "D major", 2), ("DM", "D major", 2),
    ],
)
def test_parse_every_common_spelling(text: str, canonical: str, pc: int) -> None:
    key = parse_key(text)
    assert key.canonical == canonical
    assert key.pitch_class == pc
    assert canonical_key(text) == canonical


@pytest.mark.parametrize("text", ["", "H minor", "Dmaj7", "A dorian", "12", "A##"])
def test_unreadable_key_says_what_to_write(text: str) -> None:
    with pytest.raises(KeyParseError, match="A minor|major"):
        parse_key(text)


def test_enharmonic_equality_and_pitch_class_round_trip() -> None:
    assert parse_key("F# major").same_key(parse_key("Gb major"))
    assert not parse_key("A minor").same_key(parse_key("C major"))
    assert Key.from_pitch_class(9, "minor").canonical == "A minor"
