"""The demo catalog: the 2021 webinar series from shared/reference (facts only, our own
words) with their real dates, so their credit has expired, plus current activities whose
credit is open, dated relative to today so the demo path always works."""

import datetime

from courses.models import provider_today

SERIES = "Addressing Health Disparities: Clinical Insights on Race and Social Justice"
DEMO_RECORDING = {
    "url": "/static/demo/welcome.webm",
    "captions_url": "/static/demo/welcome.vtt",
    "descriptions_url": "",
    "duration_seconds": 8,
    "required_viewing_percent": 90,
    "transcript": (
        "Welcome to this continuing medical education recording. Watch the talk, then "
        "complete the evaluation and the post-test. Thank you for learning with us."
    ),
}
# The demo provider's ID at ACCME (load_demo gives it to the provider it creates).
DEMO_ACCME_PROVIDER_ID = "9900123"
CLINICIANS = (
    "Physicians, nurse practitioners, physician assistants, nurses and other clinicians "
    "who care for patients from diverse communities, and health system leaders."
)

STANDARD_EVALUATION = {
    "questions": [
        {"text": "The activity met its stated learning objectives.", "kind": "likert", "required": True},
        {"text": "The content was relevant to my practice.", "kind": "likert", "required": True},
        {"text": "Was the content free of commercial bias?", "kind": "yes_no", "required": True},
        {"text": "Will you change anything in your practice because of this activity?",
         "kind": "commitment", "required": True},
        {"text": "What topics would you like future sessions to cover?", "kind": "text", "required": False},
    ]
}


def _faculty(name, degrees, affiliation, role, relationships=()):
    return {"name": name, "degrees": degrees, "affiliation": affiliation, "role": role,
            "relationships": list(relationships), "disclosure": ""}


# Everyone in control of content is disclosed, the people who planned and reviewed the
# series as well as those on screen.
PLANNERS = [
    _faculty("Jordan Ellis", "MD", "Director of Continuing Medical Education", "planner"),
    _faculty("Renee Whitfield", "MSN, RN", "CME program manager", "planner"),
    _faculty("Tomás Herrera", "PharmD", "Clinical content reviewer", "reviewer",
             relationships=[{"company": "Northwind Pharmaceuticals", "nature": "speaker"}]),
]


def _question(text, correct, wrong, explanation):
    choices = [{"text": correct, "correct": True, "feedback": ""}] + [
        {"text": w, "correct": False, "feedback": ""} for w in wrong
    ]
    # Put the correct choice in a different place in each question.
    shift = len(text) % len(choices)
    return {"text": text, "explanation": explanation, "multiple": False,
            "choices": choices[shift:] + choices[:shift]}


def _activity(**fields):
    base = {
        "accme_activity_id": "",
        # Blank: the file names no provider, so any site's load_demo takes it.
        "accme_provider_id": "",
        "series": SERIES,
        "status": "published",
        "reviewed_on": None,
        "estimated_minutes": 60,
        "credits": "1.00",
        "credit_offers": [],
        "recording": DEMO_RECORDING,
        # Its method of participation asks for watching, so the player checks it.
        "requires_full_viewing": True,
        "resources": [],
        "target_audience": CLINICIANS,
        "commercial_support": [],
        "joint_providers": [],
        "joint_providership_statement": "",
        # The evaluation's intent-to-change question and the post-test measure these.
        "outcome_measures": ["learner_knowledge", "learner_competence"],
        "evaluation": STANDARD_EVALUATION,
        # Every demo activity prints the provider's texts.
        "accreditation_statement": "",
        "hardware_requirements": "",
        "contact_email": "",
        "disclaimer": "",
        "privacy_url": "",
    }
    base.update(fields)
    base["faculty"] = base["faculty"] + PLANNERS
    return base


def demo_activities(*, today=None):
    today = today or provider_today()
    current_release = today - datetime.timedelta(days=20)
    return [
        _activity(
            slug="structural-equity-lessons-from-2020",
            title="Structural Equity: Lessons from 2020",
            recorded_on="2021-06-21", release_date="2021-06-21", termination_date="2021-12-21",
            description=(
                "The COVID-19 pandemic and a year of racial reckoning exposed how unevenly "
                "health and health care are distributed. This talk draws out what hospitals "
                "and health plans learned in 2020 about building more equitable systems."
            ),
            objectives=[
                "Place present-day health disparities in their historical context.",
                "Name the main drivers of racial and ethnic disparities in health.",
                "Summarise what the pandemic revealed about equity in care delivery.",
                "Describe structural approaches to equity that organisations can adopt.",
            ],
            faculty=[_faculty("Joseph Betancourt", "MD, MPH",
                              "Senior Vice President, Equity and Community Health, Massachusetts General Hospital",
                              "presenter")],
            posttest=_posttest_equity(),
        ),
        _activity(
            slug="a-career-confronting-disparities",
            title="A Career Confronting Disparities: A Conversation with Dr. Augustus White",
            recorded_on="2021-04-14", release_date="2021-04-15", termination_date="2021-10-15",
            description=(
                "An interview looking back over a pioneering career in orthopaedic surgery and "
                "medical education, and at how health care disparities have and have not "
                "changed across the decades."
            ),
            objectives=[
                "Reflect on shared experiences of racism and of progress toward equity.",
                "Identify a foundation for addressing disparities in care.",
                "Discuss what cultural competency asks of clinicians.",
            ],
            faculty=[
                _faculty("Augustus A. White, III", "MD, PhD",
                         "Professor of Orthopaedic Surgery, Harvard Medical School", "panelist"),
                _faculty("J. Kevin Tucker", "MD", "Vice President of Education, Mass General Brigham",
                         "panelist"),
            ],
            posttest=_posttest_equity(),
        ),
        _activity(
            slug="equity-through-quality-and-safety",
            title="Advancing Equity Through Quality and Safety Practice",
            recorded_on="2021-03-24", release_date="2021-03-26", termination_date="2021-09-26",
            description=(
                "Core ideas of health equity, including the forms of bias seen in clinical "
                "settings, and a framework that uses existing quality and safety systems to "
                "make inequities visible and fix them. Ends with audience questions."
            ),
            objectives=[
                "Define the core concepts of equity in health care.",
                "Describe key drivers for removing inequities through quality and safety work.",
                "Identify ways to use existing quality and safety processes to advance equity.",
            ],
            faculty=[_faculty("Karthik Sivashanker", "MD, MPH",
                              "Vice President, Equitable Health Systems and Innovation, American Medical Association",
                              "presenter")],
            posttest=_posttest_equity(),
        ),
        _activity(
            slug="civic-engagement-in-health-care",
            title="Civic Engagement as a Health Intervention",
            recorded_on="2021-02-24", release_date="2021-02-25", termination_date="2021-08-25",
            description=(
                "How hospitals, clinicians and medical associations helped tens of thousands of "
                "patients prepare to vote in 2020, and how voter registration can be offered "
                "in health care settings."
            ),
            objectives=[
                "Identify the legal basis for clinicians to encourage voter registration.",
                "Discuss what clinicians should and should not do when helping patients vote.",
                "Review how civic engagement benefits community health.",
            ],
            faculty=[
                _faculty("Alister Francois Martin", "MD, MPP", "Emergency physician", "moderator"),
                _faculty("Olaoluwa Fayanju", "MD, MS", "Senior Medical Director, Oak Street Health", "panelist"),
                _faculty("Zonia Moore", "", "MD candidate, University of Pennsylvania", "panelist"),
                _faculty("Ben Ruxin", "", "Program director, Civic Health Month", "panelist"),
            ],
            resources=[{"title": "Voting and health: a review (PubMed Central)",
                        "url": "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC5004663/"}],
            posttest=_posttest_equity(),
        ),
        _activity(
            slug="implicit-bias-in-clinical-decisions",
            title="Implicit Bias in Clinical Decision-Making",
            series="Health Equity in Practice",
            recorded_on=(current_release - datetime.timedelta(days=2)).isoformat(),
            release_date=current_release.isoformat(),
            termination_date=(current_release + datetime.timedelta(days=365)).isoformat(),
            description=(
                "How unconscious associations shape triage, pain management and referral "
                "decisions, and practical habits that reduce their effect at the bedside."
            ),
            objectives=[
                "Explain how implicit bias differs from explicit prejudice.",
                "Recognise clinical moments where implicit bias is most likely to act.",
                "Apply two structured techniques that reduce biased decisions.",
            ],
            faculty=[_faculty("Maria Okafor", "MD, MPH", "Associate Professor of Medicine", "presenter"),
                     {**_faculty("David Lin", "MD", "Director of Faculty Development", "moderator",
                                 relationships=[{"company": "Example Diagnostics Inc.", "nature": "advisory board"}]),
                      "disclosure": "Advisory board member; mitigated by independent review of the content."}],
            credit_offers=_credit_offers_bias(current_release),
            posttest=_posttest_bias(),
        ),
        _activity(
            slug="screening-for-social-needs",
            title="Screening for Social Needs in Primary Care",
            series="Health Equity in Practice",
            estimated_minutes=45,
            credits="0.75",
            recorded_on=(current_release - datetime.timedelta(days=9)).isoformat(),
            release_date=(current_release - datetime.timedelta(days=7)).isoformat(),
            termination_date=(current_release + datetime.timedelta(days=358)).isoformat(),
            description=(
                "A short, practical session on asking about food, housing and transport needs "
                "during routine visits, and on connecting patients with community resources."
            ),
            objectives=[
                "Choose a validated social-needs screening tool for a primary care clinic.",
                "Plan a referral pathway for patients who screen positive.",
            ],
            faculty=[_faculty("Samuel Reyes", "MD", "Family physician and clinic medical director", "presenter")],
            target_audience=(
                "Primary care physicians, nurse practitioners, physician assistants, nurses, "
                "medical assistants and community health workers in primary care clinics."
            ),
            joint_providers=["Riverside Community Health Network"],
            posttest=_posttest_screening(),
        ),
    ]


def _credit_offers_bias(release):
    """The demo's jointly accredited activity: nursing, pharmacy and PA credit besides AMA
    credit, and registered for ABIM MOC points. Its UAN carries the year of release."""
    def offer(code, **fields):
        return {"type": code, "amount": "1.00", "uan": "", "moc_practice_areas": [],
                "moc_credit_types": [], **fields}

    return [
        offer("ancc"),
        offer("acpe", uan=f"JA0009901-0000-{release.year % 100:02}-014-H04-P"),
        offer("aapa"),
        offer("moc_abim", moc_practice_areas=["Internal Medicine"], moc_credit_types=["MK"]),
    ]


def _posttest(*questions):
    return {"pass_percent": 75, "max_attempts": None, "minutes_between_attempts": 0,
            "shuffle_questions": False, "shuffle_choices": False,
            "review_after_fail": "score", "review_after_pass": "correct_answers",
            "questions": list(questions)}


def _posttest_equity():
    return _posttest(
        _question("Health equity means:",
                  "Everyone has a fair opportunity to attain their full health potential",
                  ["Every patient receives exactly the same treatment",
                   "Health care spending is identical across regions"],
                  "Equity is about fair opportunity, which may require different resources for different people."),
        _question("Which is an example of a structural driver of health disparities?",
                  "Residential segregation that limits access to care",
                  ["A single clinician's bedside manner", "A patient's choice of pharmacy"],
                  "Structural drivers act through institutions and policies rather than individual choices."),
        _question("Stratifying quality measures by race and ethnicity helps an organisation:",
                  "Make inequities visible so they can be addressed",
                  ["Reduce the number of measures it reports", "Avoid collecting demographic data"],
                  "What is not measured by group stays invisible."),
        _question("The most useful first step when a disparity is found in a quality metric is to:",
                  "Investigate root causes as with any safety event",
                  ["Wait for the next annual report", "Stop reporting the metric"],
                  "Treating inequities as quality and safety events brings existing tools to bear."),
    )


def _posttest_bias():
    return _posttest(
        _question("Implicit bias is best described as:",
                  "Attitudes or stereotypes that affect decisions without conscious awareness",
                  ["Openly stated prejudice", "A deliberate policy of exclusion"],
                  "Implicit biases operate automatically and can contradict a person's stated beliefs."),
        _question("Implicit bias is most likely to affect decisions made:",
                  "Under time pressure and cognitive load",
                  ["With ample time and structured checklists", "Only outside clinical work"],
                  "Fast, tired thinking leans on automatic associations."),
        _question("Which technique reduces the effect of bias on a clinical decision?",
                  "Using a structured decision tool for every patient",
                  ["Relying on first impressions", "Skipping documentation of reasoning"],
                  "Structured criteria leave less room for automatic associations."),
        _question("Individuating means:",
                  "Seeking specific information about the person in front of you",
                  ["Treating all patients of a group alike", "Referring every patient to a specialist"],
                  "Learning about the individual counters group stereotypes."),
    )


def _posttest_screening():
    return _posttest(
        _question("A positive food-insecurity screen should lead to:",
                  "A referral to a food resource and a follow-up plan",
                  ["No action unless the patient asks", "A note in the chart only"],
                  "Screening without a pathway to help frustrates patients and staff alike."),
        _question("Social-needs screening in primary care works best when it is:",
                  "Routine for every patient, with a validated tool",
                  ["Done only for patients who look poor", "Left to chance conversations"],
                  "Universal screening avoids assumptions and finds needs that are not visible."),
        _question("Which need is commonly included in social-needs screening tools?",
                  "Transportation to medical appointments",
                  ["Favourite sports team", "Preferred appointment colour"],
                  "Transport, housing, food and utilities are the usual core domains."),
        _question("Who can usually administer a social-needs screening questionnaire?",
                  "Trained clinic staff or the patient on a tablet",
                  ["Only a physician", "Only a social worker with a licence"],
                  "Validated tools are designed to be self-administered or given by staff."),
    )
