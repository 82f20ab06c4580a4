from tests.bench._load import load


def test_every_side_goes_first_once_in_as_many_rounds():
    rounds = load("_rounds")
    orders = [rounds.rotate(["a", "b", "c"], k) for k in range(3)]
    assert orders == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]]
    assert rounds.rotate(["a", "b"], 3) == ["b", "a"]


def test_median_of_nothing_is_none():
    rounds = load("_rounds")
    assert rounds.median([]) is None
    assert rounds.median([3.0, 1.0, 2.0]) == 2.0
