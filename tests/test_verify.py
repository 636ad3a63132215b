"""The public verification form `/certificates/verify/` and page `/certificates/verify/<number>/`,
as a licensing board holding a paper certificate uses them: logged out."""

import pytest

from certificates.models import Certificate, certificate_number_normalise

from .factories import certificate_for

NUMBER = "CME-7K2QD-M4XRT-P9HWE"
FORM = "/certificates/verify/"


@pytest.fixture
def issued(activity):
    return certificate_for(activity=activity, number=NUMBER, state=Certificate.State.ISSUED)


@pytest.mark.parametrize(
    "typed",
    [
        "CME-7K2QD-M4XRT-P9HWE",
        "cme-7k2qd-m4xrt-p9hwe",
        "CME 7K2QD M4XRT P9HWE",
        "  cme7k2qdm4xrtp9hwe ",
        "7K2QD-M4XRT-P9HWE",
        "7k2qd m4xrt p9hwe",
        "CME–7K2QD–M4XRT–P9HWE",
    ],
)
def test_it_writes_a_typed_number_as_certificates_print_it(typed):
    assert certificate_number_normalise(typed) == NUMBER


def test_it_shows_a_labelled_number_field_and_a_button_to_anyone(client, db):
    response = client.get(FORM)

    html = response.content.decode()
    assert response.status_code == 200
    assert '<label for="number">Certificate number</label>' in html
    assert 'id="number" name="number"' in html
    assert '<button type="submit" class="button">Verify</button>' in html
    assert 'method="get"' in html
    assert "No certificate has this number" not in html


@pytest.mark.parametrize("typed", ["cme-7k2qd-m4xrt-p9hwe", " 7K2QD M4XRT P9HWE ", NUMBER])
def test_it_takes_the_board_from_the_form_to_the_certificates_page(client, issued, typed):
    response = client.get(FORM, {"number": typed}, follow=True)

    assert response.redirect_chain == [(f"/certificates/verify/{NUMBER}/", 302)]
    html = response.content.decode()
    assert "Valid certificate" in html
    assert issued.learner_name in html
    assert issued.activity_title in html


def test_it_says_no_certificate_has_an_unknown_number_on_the_form_again(client, issued):
    response = client.get(FORM, {"number": "CME-7K2QD-M4XRT-AAAAA"})

    html = response.content.decode()
    assert response.status_code == 404
    assert "No certificate has this number." in html
    assert 'value="CME-7K2QD-M4XRT-AAAAA"' in html
    assert 'aria-describedby="number-hint number-error" aria-invalid="true"' in html
    assert issued.learner_name not in html


def test_it_asks_for_the_number_when_the_form_is_sent_empty(client, db):
    response = client.get(FORM, {"number": "  "})

    assert response.status_code == 200
    assert "Type the certificate number printed on the certificate." in response.content.decode()


def test_it_finds_no_certificate_still_being_prepared(client, activity):
    certificate_for(activity=activity, number=NUMBER, state=Certificate.State.PENDING)

    response = client.get(FORM, {"number": NUMBER})

    assert response.status_code == 404
    assert "No certificate has this number." in response.content.decode()


@pytest.mark.parametrize("path_number", ["cme-7k2qd-m4xrt-p9hwe", "7K2QDM4XRTP9HWE", "CME 7K2QD M4XRT P9HWE"])
def test_it_sends_a_non_canonical_number_in_the_address_to_the_canonical_one(client, issued, path_number):
    response = client.get(f"/certificates/verify/{path_number}/")

    assert response.status_code == 302
    assert response.url == f"/certificates/verify/{NUMBER}/"


def test_it_shows_the_form_with_the_message_for_an_unknown_number_in_the_address(client, db):
    response = client.get("/certificates/verify/CME-AAAAA-BBBBB-CCCCC/")

    html = response.content.decode()
    assert response.status_code == 404
    assert "No certificate has this number." in html
    assert '<label for="number">Certificate number</label>' in html


def test_it_links_the_form_from_every_page(client, db):
    html = client.get("/").content.decode()

    assert '<a href="/certificates/verify/">Verify a certificate</a>' in html
