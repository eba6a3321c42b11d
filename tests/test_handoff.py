"""Hand-off parsing: what a phone hook or a clicked link may hand the running app."""

from __future__ import annotations

import json

import pytest

from afas_tray.events import CallEvent, CallSource, CallState, Direction
from afas_tray.handoff import (
    HandoffError,
    event_from_line,
    event_to_line,
    parse_call_args,
    parse_call_url,
)

GOOD_ARGS = [
    (["call", "0612345678"], "0612345678", ""),
    (["0612345678"], "0612345678", ""),
    (["call", "+31 20 123 4567"], "+31 20 123 4567", ""),
    (["call", "+31", "20", "123", "4567"], "+31 20 123 4567", ""),  # unquoted hook arguments
    (["call", "  020-1234567 "], "020-1234567", ""),
    (["call", "(020) 123.45.67"], "(020) 123.45.67", ""),
    (["call", "0612345678", "--call-id", "abc123"], "0612345678", "abc123"),
    (["call", "--call-id=abc-1@pbx.example", "0612345678"], "0612345678", "abc-1@pbx.example"),
    (["call", "--", "0612345678"], "0612345678", ""),
    (["call", "201"], "201", ""),  # internal extension: the router decides, not the parser
]

BAD_ARGS = [
    [],
    ["call"],
    ["call", ""],
    ["call", "   "],
    ["call", "+"],
    ["call", "anonymous"],
    ["call", "06abc45678"],
    ["call", "0612345678x"],
    ["call", "06*12345678"],
    ["call", "06#12345678"],
    ["call", "0612\n345678"],
    ["call", "0612\x00345678"],
    ["call", "1" * 21],
    ["call", "1 " * 20],
    ["call", "https://evil.example/"],
    ["call", "0612345678", "--call-id"],
    ["call", "0612345678", "--call-id", "a b"],
    ["call", "0612345678", "--call-id", "x" * 129],
    ["call", "0612345678", "--call-id", "<script>"],
    ["call", "0612345678", "--call-id", "a", "--call-id", "b"],
    ["call", "0612345678", "--url", "https://evil.example/"],
]


@pytest.mark.parametrize(("args", "number", "call_id"), GOOD_ARGS)
def test_cli_arguments_accepted(args: list[str], number: str, call_id: str) -> None:
    event = parse_call_args(args)
    assert (event.number, event.call_id) == (number, call_id)
    assert event.source is CallSource.CLI
    assert event.state is CallState.RINGING
    assert event.direction is Direction.INCOMING


@pytest.mark.parametrize("args", BAD_ARGS)
def test_cli_arguments_refused_with_a_message_in_both_languages(args: list[str]) -> None:
    with pytest.raises(HandoffError) as info:
        parse_call_args(args)
    message = info.value.text
    assert message.en and message.nl and message.en != message.nl
    assert "\n" not in message.en and "\x00" not in message.en


GOOD_URLS = [
    ("afas-tray://call?number=0612345678", "0612345678", ""),
    ("afas-tray://call?number=0612345678&callId=c42", "0612345678", "c42"),
    ("afas-tray://call/?number=0612345678&callId=c42", "0612345678", "c42"),
    ("afas-tray:call?number=0612345678", "0612345678", ""),
    ("afas-tray:///call?number=0612345678", "0612345678", ""),
    ("AFAS-TRAY://Call?number=0612345678", "0612345678", ""),
    # A literal + is the number's plus (not a form-encoded space); %2B too.
    ("afas-tray://call?number=+31612345678", "+31612345678", ""),
    ("afas-tray://call?number=%2B31%206%2012345678", "+31 6 12345678", ""),
    # Form encoding from HTTP libraries: later "+" are spaces.
    ("afas-tray://call?number=%2B31+20+123+4567", "+31 20 123 4567", ""),
    ("afas-tray://call?number=0612345678&call_id=x.y", "0612345678", "x.y"),
    ("afas-tray://call?NUMBER=0612345678&CallID=z", "0612345678", "z"),
    ("afas-tray://call?number=0612345678#fragment", "0612345678", ""),
    # Unknown parameters are ignored: nothing but number and call id passes the gate.
    (
        "afas-tray://call?number=0612345678&url=https%3A%2F%2Fevil.example&bcid=1",
        "0612345678",
        "",
    ),
]

BAD_URLS = [
    "afas-tray://call",
    "afas-tray://call?",
    "afas-tray://call?callId=c42",
    "afas-tray://call?number=",
    "afas-tray://call?number=06abc",
    "afas-tray://call?number=0612345678%0A",
    "afas-tray://call?number=0612345678%00",
    "afas-tray://call?number=%FF%FE",
    "afas-tray://call?number=" + "1" * 40,
    "afas-tray://call?number=1&number=2",
    "afas-tray://call?number=1&callId=a&call_id=b",
    "afas-tray://call?number=0612345678&callId=%3Cscript%3E",
    "afas-tray://open?number=0612345678",
    "afas-tray://call/extra?number=0612345678",
    "afas-tray://evil.example/call?number=0612345678",
    "https://call?number=0612345678",
    "afas-tray://call?number=0612345678&pad=" + "x" * 3000,
    "afas-tray://call?number=06\t12",
]


@pytest.mark.parametrize(("url", "number", "call_id"), GOOD_URLS)
def test_urls_accepted(url: str, number: str, call_id: str) -> None:
    event = parse_call_url(url)
    assert (event.number, event.call_id) == (number, call_id)
    assert event.source is CallSource.URL


@pytest.mark.parametrize("url", BAD_URLS)
def test_urls_refused(url: str) -> None:
    with pytest.raises(HandoffError) as info:
        parse_call_url(url)
    assert info.value.text.nl




def test_instance_line_round_trip_keeps_every_field() -> None:
    event = CallEvent(
        number="+31 20 123 4567",
        call_id="abc@pbx",
        direction=Direction.OUTGOING,
        state=CallState.ANSWERED,
        source=CallSource.URL,
        time=1_700_000_000.25,
        name="Jansen B.V.",
    )
    line = event_to_line(event)
    assert "\n" not in line
    assert event_from_line(line) == event


@pytest.mark.parametrize(
    "line",
    [
        "",
        "not json",
        "[]",
        '{"v":2,"number":"0612345678","time":1}',
        '{"v":1,"number":"06abc","time":1}',
        '{"v":1,"number":"0612345678"}',
        '{"v":1,"number":"0612345678","time":"soon"}',
        '{"v":1,"number":"0612345678","time":true}',
        '{"v":1,"number":"0612345678","time":1,"state":"exploded"}',
        '{"v":1,"number":"0612345678","time":1,"source":"browser"}',
        '{"v":1,"number":"0612345678","time":1,"call_id":"a b"}',
        '{"v":1,"number":"0612345678","time":1,"name":"a\\u0000b"}',
        '{"v":1,"number":"0612345678","time":1e999}',
        '{"v":1,"number":"0612345678","time":1,"pad":"' + "x" * 5000 + '"}',
    ],
)
def test_unreadable_instance_lines_refused(line: str) -> None:
    with pytest.raises(HandoffError):
        event_from_line(line)


def test_instance_line_carries_no_url_even_if_one_is_added() -> None:
    line = json.loads(event_to_line(parse_call_args(["call", "0612345678"])))
    line["url"] = "https://evil.example/"
    event = event_from_line(json.dumps(line))
    assert "evil" not in repr(event)
