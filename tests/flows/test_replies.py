from __future__ import annotations

import json
from typing import Any

import pytest

from flows.questions import QuestionKind
from flows.replies import Intent, Reply, parse_reply
from tests.data import DATA

CORPUS = DATA / "replies.jsonl"

SCORE = "awaiting_score"
COMMENT = "awaiting_comment"
STATES = [SCORE, COMMENT]


def _corpus() -> list[dict[str, Any]]:
    if not CORPUS.exists():
        return []
    with CORPUS.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def answer(text: str, kind: str = "nps") -> Reply:
    return parse_reply(text, kind, SCORE)


def comment(text: str, kind: str = "nps") -> Reply:
    return parse_reply(text, kind, COMMENT)


# --- the labelled corpus ----------------------------------------------------------------------------


def test_the_labelled_reply_corpus_is_there() -> None:
    assert _corpus(), f"the labelled reply corpus is missing: {CORPUS}"


@pytest.mark.parametrize("case", _corpus(), ids=lambda case: case["id"])
def test_every_labelled_reply_is_understood(case: dict[str, Any]) -> None:
    expect = case["expect"]

    reply = parse_reply(case["text"], case["question"], case["state"], case["opted_out"])

    assert reply.intent == expect["intent"], case["text"]
    if "score" in expect:
        assert reply.score == expect["score"], case["text"]
    if "comment" in expect:
        assert reply.comment == expect["comment"], case["text"]


# --- opt-out, opt-in and help keywords --------------------------------------------------------------


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize(
    "text", ["STOP", "stopall", "Unsubscribe", "CANCEL", "end", "Quit", "OPTOUT", "revoke", "opt-out", "Stop All"]
)
def test_opt_out_keywords_work_in_any_state(text: str, state: str) -> None:
    assert parse_reply(text, "nps", state).intent is Intent.OPT_OUT


@pytest.mark.parametrize("text", ["  stop  ", "Stop.", "'STOP!'", "(unsubscribe)", "quit!!!", "STOP 🛑", "\nEND\n"])
def test_opt_out_keywords_ignore_case_space_and_surrounding_punctuation(text: str) -> None:
    assert answer(text).intent is Intent.OPT_OUT


@pytest.mark.parametrize("text", ["STOP PLEASE", "please cancel", "stop it", "Unsubscribe, thanks", "stop now"])
def test_a_keyword_with_only_courtesy_words_around_it_is_still_the_keyword(text: str) -> None:
    assert answer(text).intent is Intent.OPT_OUT


@pytest.mark.parametrize("kind", list(QuestionKind))
def test_opt_out_works_for_every_question_kind(kind: QuestionKind) -> None:
    assert parse_reply("STOP", kind, SCORE).intent is Intent.OPT_OUT
    assert parse_reply("STOP", kind, COMMENT).intent is Intent.OPT_OUT


@pytest.mark.parametrize("text", ["stopped", "Ending", "cancelled", "quitting", "Helpful", "information", "starter"])
def test_words_that_merely_contain_a_keyword_are_not_keywords(text: str) -> None:
    assert answer(text).intent is Intent.REPROMPT
    assert comment(text) == Reply(Intent.COMMENT, comment=text)


@pytest.mark.parametrize(
    "text",
    [
        "stop texting me",
        "Stop messaging me!",
        "please unsubscribe me",
        "remove me from your list",
        "take me off your mailing list",
        "don't message me again",
        "Do not contact me",
        "never text me again",
        "stop sending me surveys",
        "Stop sending these please",
        "no more texts please",
        "I want to unsubscribe",
        "I'd like to opt out",
        "opt me out",
        "I don't want these messages",
        "I no longer wish to be contacted",
        "delete my number",
        "leave me alone",
        "I said STOP",
        "Hi, can you stop texting me",
    ],
)
def test_plain_language_requests_to_stop_opt_out_in_any_state(text: str) -> None:
    assert answer(text).intent is Intent.OPT_OUT
    assert comment(text).intent is Intent.OPT_OUT


@pytest.mark.parametrize(
    "text",
    [
        "the driver didn't stop at my door",
        "I asked them to stop texting the driver",
        "Stop charging me twice!",
        "Stop sending me the wrong size",
        "don't send me the wrong size again",
        "I want to cancel my order",
        "The end result was fine but it took ages",
        "nearly quit halfway through checkout",
        "Delivery was late. Cancel.",
        "Never again",
    ],
)
def test_ordinary_comments_that_mention_stopping_are_not_opt_outs(text: str) -> None:
    assert comment(text) == Reply(Intent.COMMENT, comment=text)


@pytest.mark.parametrize("text", ["0 - stop texting me", "STOP 10", "10. Stop.", "Great service but stop texting me"])
def test_an_opt_out_wins_over_a_score_in_the_same_message(text: str) -> None:
    assert answer(text) == Reply(Intent.OPT_OUT)


def test_a_curly_apostrophe_does_not_hide_an_opt_out() -> None:
    assert answer("don\u2019t text me again").intent is Intent.OPT_OUT


@pytest.mark.parametrize("opted_out", [True, False])
@pytest.mark.parametrize("text", ["START", "unstop", "Start please"])
def test_start_and_unstop_opt_back_in(text: str, opted_out: bool) -> None:
    assert parse_reply(text, "nps", SCORE, opted_out).intent is Intent.OPT_IN


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("text", ["YES", "yes", "Yes!", "yes please"])
def test_yes_from_an_opted_out_contact_opts_back_in(text: str, state: str) -> None:
    assert parse_reply(text, "thumbs", state, opted_out=True).intent is Intent.OPT_IN


def test_yes_from_a_subscribed_contact_is_an_answer_or_a_comment() -> None:
    assert parse_reply("YES", "thumbs", SCORE) == Reply(Intent.ANSWER, score=1)
    assert parse_reply("YES", "nps", SCORE) == Reply(Intent.REPROMPT)
    assert parse_reply("YES", "nps", COMMENT) == Reply(Intent.COMMENT, comment="YES")


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("text", ["HELP", "help", "Help?", "INFO", "info please", "help me"])
def test_help_and_info_ask_for_help_in_any_state(text: str, state: str) -> None:
    assert parse_reply(text, "csat", state) == Reply(Intent.HELP)


# --- awaiting a score: what counts as the score -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("9", 9),
        ("9!", 9),
        ("9/10", 9),
        ("10 out of 10", 10),
        ("I'd give it a 7", 7),
        ("a solid 8", 8),
        ("nine", 9),
        ("Ten!", 10),
        ("Seven out of ten", 7),
        ("ten/10", 10),
        ("I\u2019d give it a 7", 7),
        ("I\ufffdd give it a 7", 7),
        ("Rated 9/10", 9),
        ("ok 9", 9),
    ],
)
def test_a_clearly_given_score_is_the_answer(text: str, score: int) -> None:
    assert answer(text) == Reply(Intent.ANSWER, score=score)


@pytest.mark.parametrize(
    ("word", "score"),
    [("zero", 0), ("one", 1), ("two", 2), ("three", 3), ("four", 4), ("five", 5),
     ("six", 6), ("seven", 7), ("eight", 8), ("nine", 9), ("ten", 10)],
)  # fmt: skip
def test_every_spelled_out_number_is_a_score(word: str, score: int) -> None:
    assert answer(word) == Reply(Intent.ANSWER, score=score)
    assert answer(word.upper()) == Reply(Intent.ANSWER, score=score)


@pytest.mark.parametrize(("kind", "low", "high"), [("nps", 0, 10), ("csat", 1, 5), ("ces", 1, 7)])
def test_both_ends_of_each_scale_are_accepted(kind: str, low: int, high: int) -> None:
    assert answer(str(low), kind) == Reply(Intent.ANSWER, score=low)
    assert answer(str(high), kind) == Reply(Intent.ANSWER, score=high)


@pytest.mark.parametrize(
    ("kind", "text"),
    [("nps", "11"), ("nps", "100"), ("csat", "0"), ("csat", "6"), ("ces", "0"), ("ces", "8"), ("nps", "eleven"),
     ("nps", "-1")],
)  # fmt: skip
def test_a_score_outside_the_scale_is_reprompted(kind: str, text: str) -> None:
    assert answer(text, kind) == Reply(Intent.REPROMPT)


@pytest.mark.parametrize(("kind", "text"), [("nps", "4/5"), ("nps", "5 out of 5"), ("csat", "8/10"), ("ces", "5/5")])
def test_a_score_on_another_scale_is_reprompted(kind: str, text: str) -> None:
    assert answer(text, kind) == Reply(Intent.REPROMPT)


@pytest.mark.parametrize("text", ["5/5", "4 out of 5 - friendly staff", "5 stars", "five stars!"])
def test_a_score_may_name_its_own_scale_or_count_stars(text: str) -> None:
    reply = answer(text, "csat")
    assert reply.intent is Intent.ANSWER
    assert reply.score in (4, 5)


@pytest.mark.parametrize(
    "text", ["7 or 8", "between 6 and 7", "7-8", "8 to 9", "6 - 7", "8 or 9 maybe", "maybe 7 or 8", "8.5", "7.5/10"]
)
def test_an_ambiguous_score_is_reprompted(text: str) -> None:
    assert answer(text) == Reply(Intent.REPROMPT)


@pytest.mark.parametrize("text", ["meh", "it was fine", "O", "", "   ", "😡", "👍"])
def test_a_reply_without_a_number_is_reprompted(text: str) -> None:
    assert answer(text) == Reply(Intent.REPROMPT)


@pytest.mark.parametrize(
    "text",
    [
        "2 days late and nobody told me",
        "waited 40 minutes",
        "called them 3 times",
        "Still waiting on order #4471",
        "charged me £5 extra",
        "100%",
        "I have received 0% of my order",
        "came at 10:30",
        "room 5 was dirty",
        "the 3rd time this month",
    ],
)
def test_counts_times_prices_and_order_numbers_are_not_scores(text: str) -> None:
    assert answer(text) == Reply(Intent.REPROMPT)


@pytest.mark.parametrize("text", ["someone helped", "often late", "no one answered", "the only one", "one of the best"])
def test_number_words_inside_ordinary_sentences_are_not_scores(text: str) -> None:
    assert answer(text) == Reply(Intent.REPROMPT)


@pytest.mark.parametrize("text", ["Never score 10", "definitely not a 10", "I wouldn't give it a 10"])
def test_a_negated_score_is_reprompted(text: str) -> None:
    assert answer(text) == Reply(Intent.REPROMPT)


def test_a_negation_in_an_earlier_clause_does_not_cancel_the_score() -> None:
    assert answer("No complaints, 9") == Reply(Intent.ANSWER, score=9)


# --- awaiting a score: the comment that comes with it -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "score", "note"),
    [
        ("8 - great service", 8, "great service"),
        ("8: great service", 8, "great service"),
        ("8, great service", 8, "great service"),
        ("8. Great service", 8, "Great service"),
        ("8 -- great service", 8, "great service"),
        ("8 \u2013 great service", 8, "great service"),
        ("8 great service", 8, "great service"),
        ("nine - quick", 9, "quick"),
        ("9/10, quick", 9, "quick"),
        ("10 out of 10! quick", 10, "quick"),
    ],
)
def test_text_after_a_leading_score_is_the_comment(text: str, score: int, note: str) -> None:
    assert answer(text) == Reply(Intent.ANSWER, score=score, comment=note)


@pytest.mark.parametrize("text", ["10 😍", "9 👍", "10 🔥🔥", "4 😊", "9 :)", "10!!!", "8 -"])
def test_trailing_emoji_is_not_a_comment(text: str) -> None:
    reply = answer(text)
    assert reply.intent is Intent.ANSWER
    assert reply.comment is None


def test_emoji_inside_a_comment_are_kept() -> None:
    assert answer("9 - love the new app 😊").comment == "love the new app 😊"


def test_a_comment_keeps_its_line_breaks_and_loses_the_outer_space() -> None:
    assert answer("9\n- quick delivery\nbox a bit squashed  \n") == Reply(
        Intent.ANSWER, score=9, comment="quick delivery\nbox a bit squashed"
    )


def test_a_comment_keeps_the_customers_own_apostrophes() -> None:
    assert answer("3 - couldn\u2019t log in").comment == "couldn\u2019t log in"


@pytest.mark.parametrize(
    ("text", "score", "note"),
    [
        ("8 - took 3 days", 8, "took 3 days"),
        ("5 - 2 items were missing", 5, "2 items were missing"),
        ("9 - rated them 10/10 last year", 9, "rated them 10/10 last year"),
        ("2 - had to call three times", 2, "had to call three times"),
        ("6 - my kids are 4 and 6", 6, "my kids are 4 and 6"),
    ],
)
def test_numbers_inside_the_comment_are_not_the_score(text: str, score: int, note: str) -> None:
    assert answer(text) == Reply(Intent.ANSWER, score=score, comment=note)


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("The end result was great, 9", 9),
        ("I'd give it a 7 because the staff were nice", 7),
        ("ok 9 - great", 9),
        ("Hmm, a 5", 5),
        ("took 2 hours, 4", 4),
    ],
)
def test_a_score_not_at_the_start_carries_no_comment(text: str, score: int) -> None:
    assert answer(text) == Reply(Intent.ANSWER, score=score)


def test_a_spelled_out_number_leads_only_when_it_stands_apart() -> None:
    assert answer("Six, colour was off") == Reply(Intent.ANSWER, score=6, comment="colour was off")
    assert answer("nine great service") == Reply(Intent.REPROMPT)


def test_the_same_score_given_twice_is_still_clear() -> None:
    assert answer("10, 10!") == Reply(Intent.ANSWER, score=10)


def test_two_different_scores_are_reprompted() -> None:
    assert answer("I'd say a 6, maybe a 9") == Reply(Intent.REPROMPT)


@pytest.mark.parametrize(
    "text", ["maybe 8, maybe 9", "Maybe 8 maybe 9", "8, maybe 9", "8 perhaps 9", "perhaps 7, or 8"]
)
def test_two_tentative_scores_are_ambiguous(text: str) -> None:
    assert answer(text) == Reply(Intent.REPROMPT)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("maybe 8, maybe 8", Reply(Intent.ANSWER, score=8)),
        ("maybe 8", Reply(Intent.ANSWER, score=8)),
        ("8 - took 3 days, maybe 4", Reply(Intent.ANSWER, score=8, comment="took 3 days, maybe 4")),
    ],
)
def test_one_tentative_score_or_the_same_one_twice_is_the_answer(text: str, expected: Reply) -> None:
    assert answer(text) == expected


# --- awaiting a score: thumbs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("yes", 1), ("YES", 1), ("y", 1), ("Y", 1), ("up", 1), ("thumbs up", 1), ("Thumbs-up", 1), ("👍", 1),
        ("👍🏽", 1), ("yeah", 1), ("yep", 1),
        ("no", 0), ("NO", 0), ("n", 0), ("down", 0), ("thumbs down", 0), ("👎", 0), ("nope", 0), ("nah", 0),
    ],
)  # fmt: skip
def test_thumbs_accepts_yes_no_up_down_and_the_emoji(text: str, score: int) -> None:
    assert answer(text, "thumbs") == Reply(Intent.ANSWER, score=score)


@pytest.mark.parametrize(("text", "score"), [("oui", 1), ("sí", 1), ("ja", 1), ("non", 0), ("nein", 0)])
def test_thumbs_accepts_the_yes_and_no_the_translated_reprompts_ask_for(text: str, score: int) -> None:
    assert answer(text, "thumbs") == Reply(Intent.ANSWER, score=score)


@pytest.mark.parametrize(
    ("text", "score", "note"),
    [
        ("Yes, the agent fixed it", 1, "the agent fixed it"),
        ("yes it was great", 1, "it was great"),
        ("no - still waiting", 0, "still waiting"),
        ("👍 sorted in minutes", 1, "sorted in minutes"),
        ("👍👍 sorted in minutes", 1, "sorted in minutes"),
        ("thumbs down: too slow", 0, "too slow"),
    ],
)
def test_text_after_a_leading_thumbs_answer_is_the_comment(text: str, score: int, note: str) -> None:
    assert answer(text, "thumbs") == Reply(Intent.ANSWER, score=score, comment=note)


def test_a_thumb_further_into_the_message_is_an_answer_without_a_comment() -> None:
    assert answer("great job 👍", "thumbs") == Reply(Intent.ANSWER, score=1)
    assert answer("I'd say thumbs down", "thumbs") == Reply(Intent.ANSWER, score=0)


@pytest.mark.parametrize("text", ["no problems at all", "up to you", "y not", "down to earth staff"])
def test_short_thumbs_words_that_start_a_sentence_are_not_answers(text: str) -> None:
    assert answer(text, "thumbs") == Reply(Intent.REPROMPT)


@pytest.mark.parametrize("text", ["👍👎", "yes but thumbs down", "maybe", "1", "0", "10", "😐"])
def test_an_unclear_thumbs_reply_is_reprompted(text: str) -> None:
    assert answer(text, "thumbs") == Reply(Intent.REPROMPT)


# --- awaiting a comment -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Room was clean, breakfast was cold",
        "waited 40 minutes",
        "2 days late and nobody told me",
        "Actually 0",
        "9 - already told you",
        "yes",
        "no",
        "What score ?",
        "LOVED IT!!! 😍😍",
    ],
)
def test_any_text_while_awaiting_a_comment_is_the_comment(text: str) -> None:
    assert comment(text) == Reply(Intent.COMMENT, comment=text)


def test_a_comment_is_trimmed_but_otherwise_kept_as_written() -> None:
    assert comment("  Great prices.\nWill shop again 😊\n") == Reply(
        Intent.COMMENT, comment="Great prices.\nWill shop again 😊"
    )


def test_an_empty_message_while_awaiting_a_comment_carries_no_comment() -> None:
    assert comment("   ") == Reply(Intent.COMMENT)


@pytest.mark.parametrize(("text", "score"), [("7", 7), ("0", 0), ("10!", 10), ("nine", 9), ("9/10", 9), ("10 👍", 10)])
def test_a_bare_in_range_number_while_awaiting_a_comment_corrects_the_score(text: str, score: int) -> None:
    assert comment(text) == Reply(Intent.SCORE_CORRECTION, score=score)


@pytest.mark.parametrize(("kind", "text"), [("csat", "6"), ("csat", "0"), ("nps", "11"), ("ces", "8/10")])
def test_a_bare_number_outside_the_scale_while_awaiting_a_comment_is_a_comment(kind: str, text: str) -> None:
    assert comment(text, kind) == Reply(Intent.COMMENT, comment=text)


def test_a_thumb_while_awaiting_a_comment_corrects_a_thumbs_answer() -> None:
    assert comment("👎", "thumbs") == Reply(Intent.SCORE_CORRECTION, score=0)
    assert comment("thumbs up", "thumbs") == Reply(Intent.SCORE_CORRECTION, score=1)


def test_a_digit_while_awaiting_a_comment_on_thumbs_is_a_comment() -> None:
    assert comment("1", "thumbs") == Reply(Intent.COMMENT, comment="1")


# --- the interface ----------------------------------------------------------------------------------


def test_the_question_kind_may_be_given_as_enum_or_string() -> None:
    assert parse_reply("9", QuestionKind.NPS, SCORE) == parse_reply("9", "nps", SCORE)


def test_an_unknown_state_is_refused() -> None:
    with pytest.raises(ValueError, match="awaiting_score"):
        parse_reply("9", "nps", "closed")


def test_an_unknown_question_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_reply("9", "stars", SCORE)


def test_intents_compare_equal_to_their_stored_names() -> None:
    assert Intent.SCORE_CORRECTION == "score_correction"
    assert answer("9").intent == "answer"
