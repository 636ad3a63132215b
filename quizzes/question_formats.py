"""Post-test questions read from the two formats question banks travel in: Moodle's GIFT
and Moodle XML. Pure: nothing here touches the database.

What is imported, and how:

- Multiple choice (one right answer: GIFT `=`, XML fraction 100, `<single>true`), multiple
  answer (GIFT weights without any `=`, XML `<single>false`: every answer worth more than
  0% is a correct choice) and true/false (two choices, "True" then "False").
- A single-answer question with partial credit or a penalty (a 50% or -100% answer) is
  refused: our post-test marks a question right or wrong, so it would grade differently.
- Per-answer feedback becomes the choice's feedback; general feedback (GIFT `####…`, XML
  `<generalfeedback>`) the question's explanation.
- GIFT true/false feedback `{T#first#second}`: as in Moodle, the first is shown to a
  learner who answers wrongly and the second to one who answers rightly, so the second
  goes on the correct choice and the first on the other.
- GIFT "missing word" questions (text after the closing brace) are multiple-choice
  questions whose blank is shown as "_____", as Moodle shows it; a short-answer blank
  is refused like any short-answer question.
- Text is plain: [html] GIFT text and XML text in the html (or Moodle auto) format lose
  their tags, keep paragraph and line breaks as newlines and have entities decoded;
  [markdown], [plain] and [moodle] text is kept as written. Images are dropped.
- Every other question type is refused by name, and so is a broken file, naming the line
  or the question; the caller saves nothing unless the whole file parses.
"""

import re
from bisect import bisect_left
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser
from pathlib import PurePath
from xml.parsers import expat

from django.core.exceptions import ValidationError

from courses.rules import text_problem

from .models import Choice, Question
from .rules import choices_problem

MAX_BYTES = 2 * 1024 * 1024
MAX_QUESTIONS = 500
SUPPORTED = "only multiple-choice, multiple-answer and true/false questions can be imported"
BLANK = "_____"


@dataclass(frozen=True)
class ImportedChoice:
    text: str
    correct: bool
    feedback: str = ""


@dataclass(frozen=True)
class ImportedQuestion:
    text: str
    multiple: bool
    explanation: str
    choices: tuple[ImportedChoice, ...]
    name: str = ""


class QuestionFileError(ValueError):
    """A file that cannot be imported; the message, for staff, names the line or question."""


def questions_parse(*, content, filename=""):
    """The questions of a GIFT or Moodle XML file, in file order, each checked against the
    rules the post-test applies; raises QuestionFileError on the first problem."""
    text = _decoded(content)
    head = text.lstrip()[:100]
    if head.startswith(("<?xml", "<quiz")):
        questions = _moodle_xml(text)
    else:
        suffix = PurePath(filename).suffix.lower()
        if suffix == ".xml":
            questions = _moodle_xml(text)
        elif suffix in ("", ".gift", ".txt"):
            questions = _gift(text)
        else:
            raise QuestionFileError(
                f"“{PurePath(filename).name}” is neither a GIFT file (.gift or .txt) nor a "
                "Moodle XML file (.xml)."
            )
    if not questions:
        raise QuestionFileError("The file holds no questions.")
    return questions


def _room_for_another(questions):
    """Refuse the question after the last one allowed, before the time goes into reading it."""
    if len(questions) >= MAX_QUESTIONS:
        raise QuestionFileError(
            f"The file holds more than {MAX_QUESTIONS} questions; import at most {MAX_QUESTIONS} at a time."
        )


def _decoded(content):
    size = len(content) if isinstance(content, bytes) else len(content.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise QuestionFileError(
            f"The file is larger than {MAX_BYTES // 1024 // 1024} MB; split it into smaller files."
        )
    if not isinstance(content, bytes):
        return content.removeprefix("\ufeff")
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise QuestionFileError("The file is saved as UTF-16; save it as UTF-8 and import it again.")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = content.count(b"\n", 0, error.start) + 1
        raise QuestionFileError(
            f"The file is not UTF-8 text: line {line} holds the byte 0x{content[error.start]:02X}, "
            "which is not UTF-8. Save the file as UTF-8 and import it again."
        ) from None


def _where(number, name, line):
    label = f"Question {number}"
    if name:
        label += f" “{name if len(name) <= 60 else name[:59] + '…'}”"
    return f"{label} (line {line})"


def _checked(*, where, name, text, multiple, explanation, choices):
    """The question as imported, or QuestionFileError when the post-test would refuse it."""
    problem = choices_problem([(choice.text, choice.correct) for choice in choices], multiple=multiple)
    if problem:
        raise QuestionFileError(f"{where}: {problem}")
    texts = [("the question text", text), ("the explanation", explanation)]
    for number, choice in enumerate(choices, start=1):
        texts += [(f"choice {number}", choice.text), (f"choice {number}’s feedback", choice.feedback)]
    for label, value in texts:
        problem = text_problem(value)
        if problem:
            raise QuestionFileError(f"{where}: {label} {problem}.")
    candidates = [(None, Question(text=text, multiple=multiple, explanation=explanation), ["posttest"])]
    candidates += [
        (number, Choice(text=choice.text, is_correct=choice.correct, feedback=choice.feedback), ["question"])
        for number, choice in enumerate(choices, start=1)
    ]
    for number, instance, exclude in candidates:
        try:
            instance.clean_fields(exclude=exclude)
        except ValidationError as error:
            field, errors = next(iter(error.error_dict.items()))
            label = f"choice {number}’s {field}" if number else f"the question’s {field}"
            if errors[0].code == "blank":
                raise QuestionFileError(f"{where}: {label} is empty.") from None
            raise QuestionFileError(f"{where}: {label}: {errors[0].messages[0]}") from None
    return ImportedQuestion(
        text=text, multiple=multiple, explanation=explanation, choices=tuple(choices), name=name
    )


def _refused(where, kind):
    article = "an" if kind[0] in "aeiou" else "a"
    return QuestionFileError(f"{where} is {article} {kind} question; {SUPPORTED}.")


def _fraction_problem(fraction, text):
    """Why an answer worth `fraction` percent cannot be part of a single-answer question."""
    if fraction in (0, 100):
        return ""
    worth = "takes away" if fraction < 0 else "gives"
    return (
        f"the answer “{text}” {worth} {abs(fraction):f}% of the mark, but our post-test marks a "
        "single-answer question right or wrong, with no partial credit or penalty; make its "
        "answers worth 100% or nothing"
    )


# --- Plain text from HTML ---------------------------------------------------------------------

_BLOCKS = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p",
    "pre", "section", "table", "tr", "ul",
}
_HIDDEN = {"script", "style", "template", "head", "title"}


class _PlainText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS and tag != "br":
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(re.sub(r"\s+", " ", data))


def _text_of_html(html, *, keep_newlines=False):
    """Plain text of an HTML fragment: tags dropped, entities decoded, blocks and <br> as
    line breaks, at most one blank line in a row. `keep_newlines` reads line breaks in
    the source as <br>, as Moodle's auto format does."""
    if keep_newlines:
        html = html.replace("\r\n", "\n").replace("\n", "<br>")
    parser = _PlainText()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- GIFT -------------------------------------------------------------------------------------

# Escaped characters become Unicode noncharacters (reserved for a program's internal use)
# while the structure is read, so an escaped ~ = # { } : is never taken for syntax.
_ESCAPABLE = "\\~=#{}:n"
_HOLD = {char: chr(0xFDD0 + index) for index, char in enumerate(_ESCAPABLE)}
_RESTORE = str.maketrans({held: ("\n" if char == "n" else char) for char, held in _HOLD.items()})
_NONCHARACTERS = re.compile("[\ufdd0-\ufdef]")
_ESCAPE = re.compile(r"\\([\\~=#{}:n])")
_GIFT_FORMAT = re.compile(r"\s*\[(html|moodle|plain|markdown)\]", re.IGNORECASE)
_WEIGHT = re.compile(r"\s*%([^%]*)%")
_TRUE_FALSE = re.compile(r"(T|TRUE|F|FALSE)\s*(#.*)?", re.IGNORECASE | re.DOTALL)


def _gift(text):
    questions = []
    block = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate([*lines, ""], start=1):
        line = line.strip()
        if _NONCHARACTERS.search(line):
            raise QuestionFileError(
                f"Line {number} holds a Unicode noncharacter (U+FDD0 to U+FDEF), which no text may contain."
            )
        if not line:
            if block:
                _room_for_another(questions)
                questions.append(_gift_question(block, len(questions) + 1))
                block = []
        elif not line.startswith(("//", "$CATEGORY:")):
            block.append((number, _ESCAPE.sub(lambda match: _HOLD[match.group(1)], line)))
    return questions


def _gift_text(raw, inherited="moodle"):
    """Text of a GIFT part: its own [format] prefix or the question's, as plain text."""
    match = _GIFT_FORMAT.match(raw)
    text_format = match.group(1).lower() if match else inherited
    raw = raw[match.end():] if match else raw
    text = raw.translate(_RESTORE)
    if text_format == "html":
        return _text_of_html(text)
    return "\n".join(line.strip() for line in text.strip().split("\n"))


def _gift_question(block, number):
    text = "\n".join(line for _, line in block)
    breaks = [match.start() for match in re.finditer("\n", text)]

    def line_at(offset):
        return block[bisect_left(breaks, offset)][0]

    name, start = "", 0
    if text.startswith("::"):
        end = text.find("::", 2)
        if end == -1:
            raise QuestionFileError(
                f"Line {block[0][0]}: the title of question {number} opens with “::” but is not "
                "closed with another “::” (write \\: for a colon in a title)."
            )
        name = _gift_text(text[2:end], "plain")
        start = end + 2
    where = _where(number, name, block[0][0])
    opening = text.find("{", start)
    stray = text.find("}", start, opening if opening != -1 else len(text))
    if stray != -1:
        raise QuestionFileError(
            f"{where}: line {line_at(stray)} has a “}}” with no “{{” before it "
            "(write \\} for a brace in text)."
        )
    if opening == -1:
        raise QuestionFileError(
            f"{where} has no answers in braces {{ }}, so it is a description (text only); {SUPPORTED}."
        )
    closing = text.find("}", opening)
    nested = text.find("{", opening + 1, closing if closing != -1 else len(text))
    if nested != -1:
        raise QuestionFileError(
            f"{where}: the answers opened with “{{” on line {line_at(opening)} are not closed with "
            f"“}}” before the next “{{” on line {line_at(nested)} (write \\{{ for a brace in text)."
        )
    if closing == -1:
        raise QuestionFileError(
            f"{where}: the answers opened with “{{” on line {line_at(opening)} are not closed with "
            "“}” before the blank line that ends the question."
        )
    extra = re.search(r"[{}]", text[closing + 1:])
    if extra:
        raise QuestionFileError(
            f"{where}: line {line_at(closing + 1 + extra.start())} has a second brace after the "
            "answers. Separate questions with a blank line, and write \\{ and \\} for braces in text."
        )
    before, after = text[start:opening], text[closing + 1:]
    match = _GIFT_FORMAT.match(before)
    text_format = match.group(1).lower() if match else "moodle"
    question_text = _gift_text(before + (BLANK + after if after.strip() else ""))
    answers = text[opening + 1:closing]
    explanation = ""
    general = answers.find("####")
    if general != -1:
        explanation = _gift_text(answers[general + 4:], text_format)
        answers = answers[:general]
    body = answers.strip()
    if not body:
        raise _refused(where, "essay")
    if body.startswith("#"):
        raise _refused(where, "numerical")
    true_false = _TRUE_FALSE.fullmatch(body)
    if true_false and "~" not in body:
        return _gift_true_false(where, name, question_text, explanation, true_false, text_format)
    if "~" not in body:
        raise _refused(where, "matching" if "->" in body else "short-answer")
    return _gift_choices(where, name, question_text, explanation, answers, opening + 1, text_format, line_at)


def _gift_true_false(where, name, question_text, explanation, match, text_format):
    is_true = match.group(1).upper() in ("T", "TRUE")
    feedback = (match.group(2) or "").split("#", 2)[1:]
    wrong = _gift_text(feedback[0], text_format) if feedback else ""
    right = _gift_text(feedback[1], text_format) if len(feedback) > 1 else ""
    choices = [
        ImportedChoice(text="True", correct=is_true, feedback=right if is_true else wrong),
        ImportedChoice(text="False", correct=not is_true, feedback=wrong if is_true else right),
    ]
    return _checked(
        where=where, name=name, text=question_text, multiple=False, explanation=explanation, choices=choices
    )


def _gift_choices(where, name, question_text, explanation, answers, offset, text_format, line_at):
    markers = [match.start() for match in re.finditer(r"[~=]", answers)]
    if answers[: markers[0]].strip():
        raise QuestionFileError(
            f"{where}: line {line_at(offset)} has text before the first answer; each answer "
            "starts with = (right) or ~ (wrong)."
        )
    parsed = []
    for position, end in zip(markers, [*markers[1:], len(answers)], strict=True):
        part = answers[position + 1:end]
        line = line_at(offset + position)
        fraction = Decimal(100) if answers[position] == "=" else Decimal(0)
        weight = _WEIGHT.match(part) if answers[position] == "~" else None
        if weight:
            try:
                fraction = Decimal(weight.group(1).strip())
            except InvalidOperation:
                fraction = None
            if fraction is None or not fraction.is_finite() or not -100 <= fraction <= 100:
                raise QuestionFileError(
                    f"{where}: line {line}: the weight %{weight.group(1)}% is not a percentage "
                    "from -100 to 100."
                )
            part = part[weight.end():]
        choice_text, _, feedback = part.partition("#")
        parsed.append(
            (
                fraction,
                _gift_text(choice_text, text_format),
                _gift_text(feedback, text_format),
                line,
                answers[position] == "=",
            )
        )
    # As in Moodle, a question with a right answer (=) takes one answer; one that only
    # weighs its answers takes several.
    multiple = not any(is_right for *_, is_right in parsed)
    if not multiple:
        for fraction, choice_text, _, line, _ in parsed:
            problem = _fraction_problem(fraction, choice_text)
            if problem:
                raise QuestionFileError(f"{where}: line {line}: {problem}.")
    choices = [
        ImportedChoice(text=choice_text, correct=fraction > 0 if multiple else fraction == 100, feedback=feedback)
        for fraction, choice_text, feedback, _, _ in parsed
    ]
    return _checked(
        where=where, name=name, text=question_text, multiple=multiple, explanation=explanation, choices=choices
    )


# --- Moodle XML -------------------------------------------------------------------------------

# Moodle's type names, as the refusal names them.
XML_TYPES = {
    "shortanswer": "short-answer",
    "matching": "matching",
    "essay": "essay",
    "numerical": "numerical",
    "description": "description (text only)",
    "cloze": "embedded answers (Cloze)",
    "multianswer": "embedded answers (Cloze)",
    "calculated": "calculated",
    "calculatedsimple": "simple calculated",
    "calculatedmulti": "calculated multichoice",
    "randomsamatch": "random short-answer matching",
    "ddwtos": "drag and drop into text",
    "ddimageortext": "drag and drop onto image",
    "ddmarker": "drag and drop markers",
    "gapselect": "select missing words",
    "ordering": "ordering",
    "random": "random",
}


class _Element:
    __slots__ = ("tag", "attrs", "line", "children", "parts")

    def __init__(self, tag, attrs, line):
        self.tag, self.attrs, self.line = tag, attrs, line
        self.children, self.parts = [], []

    def child(self, tag):
        return next((child for child in self.children if child.tag == tag), None)

    def text(self):
        """All text inside, tags left out: a <text> holding raw tags (not CDATA) still reads."""
        texts, pending = [], [self]
        while pending:
            part = pending.pop()
            if isinstance(part, str):
                texts.append(part)
            else:
                pending.extend(reversed(part.parts))
        return "".join(texts)


def _xml_tree(text):
    parser = expat.ParserCreate("UTF-8")
    root, stack = [], []

    def start(tag, attrs):
        element = _Element(tag, attrs, parser.CurrentLineNumber)
        if stack:
            stack[-1].children.append(element)
            stack[-1].parts.append(element)
        else:
            root.append(element)
        stack.append(element)

    def end(tag):
        stack.pop()

    def data(chunk):
        stack[-1].parts.append(chunk)

    def doctype(*args):
        # A DOCTYPE can declare entities that expand a small file into gigabytes, or read
        # local files; Moodle's own exports never have one.
        raise QuestionFileError(
            f"Line {parser.CurrentLineNumber}: the file has a DOCTYPE declaration, which is refused "
            "for safety; Moodle XML files have none."
        )

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    try:
        parser.Parse(text, True)
    except expat.ExpatError as error:
        raise QuestionFileError(
            f"The file is not valid XML: {expat.ErrorString(error.code)} at line {error.lineno}, "
            f"column {error.offset + 1}."
        ) from None
    return root[0]


def _xml_text(element, default_format="html"):
    """The plain text of a Moodle <…><text>…</text></…> element, or "" when absent."""
    if element is None:
        return ""
    inner = element.child("text")
    raw = inner.text() if inner is not None else ""
    text_format = element.attrs.get("format", default_format)
    if text_format in ("html", "moodle_auto_format"):
        return _text_of_html(raw, keep_newlines=text_format == "moodle_auto_format")
    return "\n".join(line.strip() for line in raw.replace("\r\n", "\n").strip().split("\n"))


def _moodle_xml(text):
    root = _xml_tree(text)
    if root.tag != "quiz":
        raise QuestionFileError(
            f"The file is not a Moodle XML question file: it starts with <{root.tag}>, not <quiz>."
        )
    questions = []
    for element in root.children:
        if element.tag != "question":
            continue
        kind = element.attrs.get("type", "")
        if kind == "category":
            continue
        _room_for_another(questions)
        name = _xml_text(element.child("name"), "plain_text")
        where = _where(len(questions) + 1, name, element.line)
        if kind == "multichoice":
            questions.append(_xml_multichoice(element, where, name))
        elif kind == "truefalse":
            questions.append(_xml_true_false(element, where, name))
        else:
            raise _refused(where, XML_TYPES.get(kind, f"“{kind}”"))
    return questions


def _xml_answers(element, where):
    answers = []
    for answer in (child for child in element.children if child.tag == "answer"):
        raw = answer.attrs.get("fraction", "0")
        try:
            fraction = Decimal(raw.strip())
        except InvalidOperation:
            fraction = None
        if fraction is None or not fraction.is_finite() or not -100 <= fraction <= 100:
            raise QuestionFileError(
                f"{where}: the answer on line {answer.line} has the fraction “{raw}”, not a "
                "percentage from -100 to 100."
            )
        answers.append((fraction, _xml_text(answer), _xml_text(answer.child("feedback")), answer.line))
    return answers


def _xml_common(element):
    return _xml_text(element.child("questiontext")), _xml_text(element.child("generalfeedback"))


def _xml_multichoice(element, where, name):
    single = element.child("single")
    # Moodle reads "false", "0" and an empty value as several answers, anything else as one.
    multiple = single is not None and single.text().strip().lower() in ("false", "0", "")
    answers = _xml_answers(element, where)
    if not multiple:
        for fraction, choice_text, _, line in answers:
            problem = _fraction_problem(fraction, choice_text)
            if problem:
                raise QuestionFileError(f"{where}: line {line}: {problem}.")
    text, explanation = _xml_common(element)
    choices = [
        ImportedChoice(text=choice_text, correct=fraction > 0 if multiple else fraction == 100, feedback=feedback)
        for fraction, choice_text, feedback, _ in answers
    ]
    return _checked(where=where, name=name, text=text, multiple=multiple, explanation=explanation, choices=choices)


def _xml_true_false(element, where, name):
    answers = {}
    for fraction, choice_text, feedback, line in _xml_answers(element, where):
        value = choice_text.strip().lower()
        if value not in ("true", "false") or value in answers:
            raise QuestionFileError(
                f"{where}: a true/false question has one answer “true” and one “false”; line {line} "
                f"has “{choice_text}”."
            )
        problem = _fraction_problem(fraction, choice_text)
        if problem:
            raise QuestionFileError(f"{where}: line {line}: {problem}.")
        answers[value] = ImportedChoice(text=value.title(), correct=fraction == 100, feedback=feedback)
    if len(answers) != 2:
        raise QuestionFileError(f"{where}: a true/false question needs the answers “true” and “false”.")
    text, explanation = _xml_common(element)
    return _checked(
        where=where,
        name=name,
        text=text,
        multiple=False,
        explanation=explanation,
        choices=[answers["true"], answers["false"]],
    )
