"""One table maps domain errors to status codes, for the API and the pages alike."""

from app.errors import AutocoderError, Conflict, Forbidden, InvalidInput, NotFound, PayloadTooLarge, status_of


def test_each_domain_error_has_one_status_everywhere():
    assert [status_of(e("x")) for e in (InvalidInput, NotFound, Conflict, Forbidden, PayloadTooLarge)] == [
        422, 404, 409, 403, 413]

    class StaleRun(Conflict):
        pass

    assert status_of(StaleRun("x")) == 409 and status_of(AutocoderError("x")) == 400


def test_the_pages_answer_with_the_same_status_as_the_api(client):
    """A refused page decision and the same refusal over the API: one status (the pages once mapped by hand)."""
    from tests.conftest import add_user
    from tests.web.test_page_routes import SAME_SITE, sign_in

    coder = add_user(client.app, "cleo", "coder")
    posted = client.post("/transcripts", json={"text": "SP1: We set a goal to walk every morning.\n"}).json()
    seg = posted["segments"][0]
    api = client.post(f"/segments/{seg['id']}/decisions", headers=coder, json={"action": "remove", "code": "1.1"})
    page = sign_in(client, coder).post(f"/ui/segments/{seg['id']}/decide", data={"action": "remove", "code": "1.1"},
                                       headers={**SAME_SITE, "HX-Request": "true"})
    assert api.status_code == page.status_code == 409
