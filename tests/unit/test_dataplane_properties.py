"""Property-based checks of the local data plane's parsing: any query string or Range header is
either understood or refused with the S3 status a client can act on, never an exception."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from score_broker.api.dataplane import _requested_range
from score_broker.errors import DataPlaneError
from score_broker.storage.local import LocalStore
from score_broker.storage.local_urls import MAX_PART_NUMBER, MAX_POSITION

KEY = "data/7f1a0c8e-4a55-4a38-9b2c-2f2d5a8b1c33"
FIELDS = ("Expires", "Signature", "uploadId", "partNumber", "offset", "size", "range")
numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(alphabet="0123456789²³¹٣߂ -+_", max_size=30),
    st.text(max_size=30),
    st.just("9" * 5000),
)
PROPERTY = settings(max_examples=300, deadline=None, derandomize=True)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    return LocalStore(tmp_path_factory.mktemp("store"), "http://127.0.0.1:9")


@PROPERTY
@given(
    params=st.dictionaries(st.sampled_from(FIELDS), numbers),
    method=st.sampled_from(["GET", "PUT", "HEAD"]),
)
def test_any_query_is_refused_with_403(
    store: LocalStore, params: dict[str, str], method: str
) -> None:
    with pytest.raises(DataPlaneError) as refused:
        store.verify(method, KEY, params)
    assert refused.value.status == 403


@PROPERTY
@given(
    field=st.sampled_from(["partNumber", "offset", "size", "Expires", "Signature", "uploadId"]),
    value=numbers,
)
def test_a_signed_part_url_with_one_field_changed_is_refused(
    store: LocalStore, field: str, value: str
) -> None:
    url = store.sign_upload_part(KEY, "upload-1", 3, 40 * 1024**2, 20 * 1024**2, 600)
    params = dict(parse_qsl(urlsplit(url).query))
    if params[field] == value:
        return
    params[field] = value
    with pytest.raises(DataPlaneError) as refused:
        store.verify("PUT", KEY, params)
    assert refused.value.status == 403


@PROPERTY
@given(
    part_number=st.integers(min_value=1, max_value=MAX_PART_NUMBER),
    offset=st.integers(min_value=0, max_value=MAX_POSITION),
    size=st.integers(min_value=0, max_value=5 * 1024**3),
)
def test_the_fields_a_url_was_signed_with_come_back(
    store: LocalStore, part_number: int, offset: int, size: int
) -> None:
    url = store.sign_upload_part(KEY, "upload-1", part_number, offset, size, 600)
    params = dict(parse_qsl(urlsplit(url).query))
    if offset + size > MAX_POSITION:
        with pytest.raises(DataPlaneError):
            store.verify("PUT", KEY, params)
        return
    signed = store.verify("PUT", KEY, params)
    assert (signed.part_number, signed.offset, signed.size) == (part_number, offset, size)
    assert int(params["Expires"]) >= time.time()


@PROPERTY
@given(
    header=st.one_of(
        st.text(max_size=40), st.from_regex(r"bytes=[0-9]{0,20}-[0-9]{0,20}", fullmatch=True)
    ),
    size=st.integers(min_value=0, max_value=10**13),
)
def test_any_range_header_is_a_valid_range_or_416(header: str, size: int) -> None:
    try:
        requested = _requested_range(header, size)
    except DataPlaneError as refused:
        status = refused.status
    else:
        assert requested is not None
        first, last = requested
        assert 0 <= first <= last < size
        return
    assert status == 416
