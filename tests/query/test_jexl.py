"""toshi.query.jexl: the JEXL of Orion's custom notifications (Orion manual, "JEXL support in custom
notifications": the usage example, "Available Transformations", "Failsafe cases", "Known
limitations"), and its limits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from toshi.query.jexl import (
    MAX_LENGTH,
    UNDEFINED,
    JexlError,
    compile_expression,
    evaluate,
    evaluate_or_none,
)

# the manual's "JEXL usage example", first update
UPDATE = {"speed": "10 m/s", "count": {"count": 5, "sum": 100}, "code": None, "value": 14, "max": 50}


@pytest.mark.parametrize("expression, expected", [
    ("(speed|split(' '))[0]|parseInt", 10),
    ("count.sum/count.count", 20),
    ("code||'invalid'", "invalid"),
    ("(value>max)?'nok':'ok'", "ok"),
    ("{count:count.count+1, sum:count.sum+((speed|split(' '))[0]|parseInt)}", {"count": 6, "sum": 110}),
])
def test_usage_example_first_update(expression, expected):
    assert evaluate_or_none(expression, UPDATE) == expected


def test_usage_example_second_update_keeps_a_present_code():
    second = {**UPDATE, "code": 456}
    assert evaluate_or_none("code||'invalid'", second) == 456


def test_division_result_as_orion_renders_it():
    assert evaluate_or_none("humidity/100", {"humidity": 84.4}) == 0.844


def test_basic_replacement_keeps_the_json_type():
    assert evaluate_or_none("count", UPDATE) == {"count": 5, "sum": 100}


def test_metadata_path():
    context = {"A": 10, "metadata": {"A": {"MD1": "x", "previousValue": 4}}}
    assert evaluate_or_none("metadata.A.MD1", context) == "x"


def test_difference_with_previous_value():
    context = {"A": 10, "metadata": {"A": {"previousValue": 4}}}
    assert evaluate_or_none("A-metadata.A.previousValue", context) == 6


@pytest.mark.parametrize("expression, context, expected", [
    ("c|uppercase", {"c": "fooBAR"}, "FOOBAR"),
    ("c|lowercase", {"c": "fooBAR"}, "foobar"),
    ("c|split(',')", {"c": "foo,bar,zzz"}, ["foo", "bar", "zzz"]),
    ("c|indexOf('xy')", {"c": "fooxybar"}, 3),
    ("c|len", {"c": "foobar"}, 6),
    ("c|trim", {"c": "  foo  bar  "}, "foo  bar"),
    ("c|substring(3,5)", {"c": "foobar"}, "ba"),
    ("c|includes('ba')", {"c": "foobar"}, True),
    ("c|isNaN", {"c": "foobar"}, True),
    ("c|parseInt", {"c": "25"}, 25),
    ("c|parseFloat", {"c": "25.33"}, 25.33),
    ("c|typeOf", {"c": 23}, "Number"),
    ("c|toString", {"c": 23}, "23"),
    ("c|toJson", {"c": "[1,2]"}, [1, 2]),
    ("c|floor", {"c": 3.14}, 3),
    ("c|ceil", {"c": 3.14}, 4),
    ("c|round", {"c": 3.14}, 3),
    ("c|toFixed(1)", {"c": 3.18}, 3.2),
    ("c|log", {"c": 3.14}, 1.14422279992016),
    ("c|log10", {"c": 3.14}, 0.496929648073215),
    ("c|log2", {"c": 3.14}, 1.6507645591169),
    ("c|sqrt", {"c": 3.14}, 1.77200451466693),
    ("c|replaceStr('o','u')", {"c": "foobar"}, "fuubar"),
    ("c|replaceRegex('\\d+','X')", {"c": "aba1234aba786aba"}, "abaXabaXaba"),
    ("c|matchRegex('\\d+')", {"c": "abc1234fgh897hyt"}, ["1234", "897"]),
    ("c|mapper(values,choices)", {"c": "fr", "values": ["es", "fr", "de"],
                                  "choices": ["Spain", "France", "Germany"]}, "France"),
    ("c|nMapper(values,choices)", {"c": 20, "values": [10, 20, 30], "choices": ["low", "medium", "high"]},
     "medium"),
    ("c|thMapper(values,choices)", {"c": 0.5, "values": [-1, 1], "choices": ["low", "medium", "high"]},
     "medium"),
    ("c|values", {"c": {"x": 1, "y": "foo"}}, [1, "foo"]),
    ("c|keys", {"c": {"x": 1, "y": "foo"}}, ["x", "y"]),
    ("c|arrSum", {"c": [1, 5]}, 6),
    ("c|arrAvg", {"c": [1, 5]}, 3),
    ("c|arrMax", {"c": [1, 5]}, 5),
    ("c|arrMin", {"c": [1, 5]}, 1),
    ("c|arrMed", {"c": [1, 3, 3, 6, 7, 8, 9]}, 6),
    ("c|arrMed", {"c": [1, 2, 3, 4, 5, 6, 8, 9]}, 4.5),
    ("c|arrSort", {"c": [3, 1, 3, 9, 7, 8, 6]}, [1, 3, 3, 6, 7, 8, 9]),
    ("c|arrReverse", {"c": [3, 1, 3, 9, 7, 8, 6]}, [6, 8, 7, 9, 3, 1, 3]),
    ("c|toIsoString", {"c": 1720606949}, "2024-07-10T10:22:29+00:00"),
    ("c|getTime", {"c": "2024-07-10T10:22:29+00:00"}, 1720606949),
])
def test_transformation_example(expression, context, expected):
    assert evaluate_or_none(expression, context) == expected


def test_now_is_the_current_epoch_second_plus_the_input():
    before = int(datetime.now(UTC).timestamp())
    result = evaluate_or_none("60|now", {})
    after = int(datetime.now(UTC).timestamp())
    assert before + 60 <= result <= after + 60


@pytest.mark.parametrize("expression, context", [
    ("c|indexOf('zz')", {"c": "foobar"}),                       # not found
    ("c|substring(3,10)", {"c": "foobar"}),                     # end past the string
    ("c|substring(4,2)", {"c": "foobar"}),                      # end before start
    ("c|toJson", {"c": "[1,"}),                                 # not JSON
    ("c|matchRegex('(')", {"c": "abc"}),                        # invalid regex
    ("c|mapper(values,choices)", {"c": "it", "values": ["es"], "choices": ["Spain"]}),   # not among values
    ("c|mapper(values,choices)", {"c": "es", "values": ["es"], "choices": []}),          # lengths differ
    ("c|thMapper(values,choices)", {"c": 1, "values": [0], "choices": ["a"]}),           # choices = values + 1
    ("c|values", {"c": [1]}),                                   # not an object
    ("c|keys", {"c": "x"}),
    ("c|arrSum", {"c": []}),                                    # empty
    ("c|arrAvg", {"c": [1, "a"]}),                              # non numeric item
    ("c|arrMax", {"c": "1,2"}),                                 # not an array
    ("c|arrSort", {"c": [1, None]}),
    ("c|arrReverse", {"c": {"a": 1}}),
])
def test_transformation_returns_null(expression, context):
    assert evaluate_or_none(expression, context) is None


def test_unknown_transformation_fails_to_null():
    assert evaluate_or_none("A|undefinedExpression", {"A": 1}) is None


def test_equality_with_an_undefined_identifier_fails_to_null():
    assert evaluate_or_none("(A==null)?0:A", {}) is None


def test_or_gives_the_default_for_an_undefined_identifier():
    assert evaluate_or_none("A||0", {}) == 0


def test_not_equal_treats_an_undefined_identifier_as_null():
    assert evaluate_or_none("A != null ? 1: 0", {}) == 0


def test_syntax_error_fails_to_null():
    assert evaluate_or_none("A[0|uppercase", {"A": ["x"]}) is None


def test_unary_minus_is_not_supported_as_in_orion():
    assert evaluate_or_none("A||-1", {}) is None


def test_binary_minus_alternative_works():
    assert evaluate_or_none("A||0-1", {}) == -1


def test_negation_is_not_supported_as_in_orion():
    assert evaluate_or_none("!A", {"A": True}) is None


def test_full_dialect_has_unary_minus_and_negation():
    assert evaluate("-A + (!B ? 1 : 0)", {"A": 2, "B": False}, dialect="full") == -1


def test_attribute_name_with_minus_is_a_subtraction():
    assert evaluate_or_none("lower-temperature", {"lower": 10, "temperature": 3}) == 7


def test_an_undefined_identifier_evaluates_to_undefined():
    assert evaluate("A", {}) is UNDEFINED


def test_undefined_result_is_null_in_the_failsafe_form():
    assert evaluate_or_none("A", {}) is None


def test_missing_property_of_an_object_is_undefined():
    assert evaluate_or_none("count.missing||'none'", UPDATE) == "none"


def test_number_plus_string_fails_as_in_python():
    assert evaluate_or_none("1 + 'a'", {}) is None


def test_strings_are_joined_with_plus():
    assert evaluate_or_none("'a' + b", {"b": "c"}) == "ac"


def test_in_operator_on_arrays_and_strings():
    assert evaluate_or_none("'b' in list && 'oo' in text", {"list": ["a", "b"], "text": "foo"}) is True


def test_operator_precedence():
    assert evaluate_or_none("1 + 2 * 3 ^ 2 // 4", {}) == 5  # 1 + (2 * 9) // 4


def test_filter_expression():
    context = {"items": [{"n": 1}, {"n": 5}, {"n": 9}]}
    assert evaluate_or_none("items[.n > 3]", context) == [{"n": 5}, {"n": 9}]


def test_array_and_bracket_access():
    assert evaluate_or_none("[a, 'x'][0] + o['k k']", {"a": "y", "o": {"k k": "z"}}) == "yz"


def test_division_by_zero_fails_to_null():
    assert evaluate_or_none("1/0", {}) is None


def test_nested_ternary_is_right_associative():
    assert evaluate_or_none("a ? 'x' : b ? 'y' : 'z'", {"a": False, "b": True}) == "y"


def test_too_long_expression_is_refused():
    with pytest.raises(JexlError):
        compile_expression("1+" * (MAX_LENGTH // 2) + "1")


def test_too_deep_nesting_is_refused():
    with pytest.raises(JexlError):
        compile_expression("(" * 200 + "1" + ")" * 200)


def test_huge_power_fails_to_null():
    assert evaluate_or_none("10^100000", {}) is None


def test_runaway_string_growth_fails_to_null():
    expression = "s" + "|replaceStr('a','aaaaaaaaaa')" * 12
    assert evaluate_or_none(expression, {"s": "a" * 100}) is None


def test_replacement_that_would_grow_too_long_is_refused_before_it_is_built():
    context = {"s": "a" * 100_000, "big": "b" * 4000}
    assert evaluate_or_none("s|replaceStr('a', big)", context) is None


def test_regex_replacement_that_would_grow_too_long_fails_to_null():
    context = {"s": "a" * 100_000, "big": "b" * 4000}
    assert evaluate_or_none("s|replaceRegex('a', big)", context) is None


def test_a_long_member_chain_fails_to_null_rather_than_overflowing():
    assert evaluate_or_none("a" + ".b" * 1500, {"a": {}}) is None
