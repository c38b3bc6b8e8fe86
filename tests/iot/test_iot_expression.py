import pytest

from toshi.iot.expression import ExpressionError, evaluate


def test_legacy_and_bare_forms():
    assert evaluate("${@t * 1.8 + 32}", {"t": "25"}) == 77.0
    assert evaluate("(t + h) / 2", {"t": 1, "h": 2}) == 1.5
    assert evaluate("-t % 7", {"t": 10}) == 4
    assert evaluate("a + b", {"a": "x", "b": "y"}) == "xy"


@pytest.mark.parametrize("text", [
    "__import__('os').system('id')", "t.__class__", "open('/etc/passwd')", "[x for x in ()]",
    "t ** 99999999", "lambda: 1", "t if t else 0", "t[0]", "${@t; 1}", "", "1" * 300,
    "a * 99999999", "(" * 200 + "1" + ")" * 200, "t == 1", "f'{t}'", "t / 0", "unknown + 1",
])
def test_hostile_input_is_refused(text):
    with pytest.raises(ExpressionError):
        evaluate(text, {"t": 3, "a": "x"})


def test_non_string_refused():
    with pytest.raises(ExpressionError):
        evaluate(None, {})  # type: ignore[arg-type]


def test_jexl_transform_on_a_measure():
    assert evaluate("t|round", {"t": "21.6"}) == 22


def test_jexl_ternary_gives_a_text():
    assert evaluate("t > 30 ? 'hot' : 'ok'", {"t": "31"}) == "hot"


def test_jexl_negation_as_in_the_iot_agents():
    assert evaluate("!(t > 30) ? 'cool' : 'hot'", {"t": 12}) == "cool"


def test_boolean_result_is_refused():
    with pytest.raises(ExpressionError):
        evaluate("t > 1", {"t": 3})


def test_at_sign_inside_a_jexl_string_is_kept():
    assert evaluate("'a@b' + s", {"s": "c"}) == "a@bc"
