"""The error registry (JetStream err_code -> class) and the -ERR table, without a server."""

from __future__ import annotations

import pytest

import natskv
from natskv import errors
from natskv.errors import APIError, api_error_from, server_error_from

# err_code -> class, as nats-server's server/errors.json names the codes natskv meets.
REGISTERED = [
    (10003, errors.BadRequestError),  # JSBadRequestErr
    (10008, errors.ClusterUnavailableError),  # JSClusterNotAvailErr
    (10013, errors.ConsumerExistsError),  # JSConsumerNameExistErr
    (10014, errors.ConsumerNotFoundError),  # JSConsumerNotFoundErr
    (10023, errors.InsufficientResourcesError),  # JSInsufficientResourcesErr
    (10028, errors.InsufficientResourcesError),  # JSMemoryResourcesExceededErr
    (10037, errors.NoMessageFoundError),  # JSNoMessageFoundErr
    (10039, errors.JetStreamNotEnabledError),  # JSNotEnabledForAccountErr
    (10047, errors.InsufficientResourcesError),  # JSStorageResourcesExceededErr
    (10052, errors.StreamConfigError),  # JSStreamInvalidConfigF
    (10054, errors.MessageSizeExceededError),  # JSStreamMessageExceedsMaximumErr
    (10058, errors.StreamNameInUseError),  # JSStreamNameExistErr
    (10059, errors.StreamNotFoundError),  # JSStreamNotFoundErr
    (10071, errors.WrongLastSequenceError),  # JSStreamWrongLastSequenceErrF
    (10076, errors.JetStreamNotEnabledError),  # JSNotEnabledErr
    (10077, errors.StreamStoreFailedError),  # JSStreamStoreFailedF
    (10097, errors.HeaderSizeExceededError),  # JSStreamHeaderExceedsMaximumErr
    (10111, errors.RollupFailedError),  # JSStreamRollupFailedF
    (10118, errors.StreamOfflineError),  # JSStreamOfflineErr
    (10148, errors.ConsumerExistsError),  # JSConsumerAlreadyExists
    (10163, errors.LastSequenceNotReadyError),  # JSStreamExpectedLastSeqPerSubjectNotReady
    (10164, errors.WrongLastSequenceError),  # JSStreamWrongLastSequenceConstantErr
    (10165, errors.MessageTTLInvalidError),  # JSMessageTTLInvalidErr
    (10166, errors.MessageTTLDisabledError),  # JSMessageTTLDisabledErr
    (10167, errors.TooManyRequestsError),  # JSStreamTooManyRequests
    (10194, errors.StreamOfflineError),  # JSStreamOfflineReasonErrF
]


@pytest.mark.parametrize(("err_code", "cls"), REGISTERED)
def test_api_error_from_picks_the_class_registered_for_the_code(
    err_code: int, cls: type[APIError]
) -> None:
    err = api_error_from({"code": 400, "err_code": err_code, "description": "what the server said"})
    assert type(err) is cls
    assert (err.code, err.err_code, err.description) == (400, err_code, "what the server said")
    assert err_code in cls.err_codes
    assert "what the server said" in str(err)


def test_an_unregistered_code_is_a_plain_api_error() -> None:
    err = api_error_from({"code": 500, "err_code": 99999, "description": "new in a future server"})
    assert type(err) is APIError
    assert err.err_code == 99999
    assert type(api_error_from({})) is APIError


def test_every_registered_class_is_an_api_error_with_unique_codes() -> None:
    seen: dict[int, type[APIError]] = {}
    for cls in {cls for _, cls in REGISTERED}:
        assert issubclass(cls, APIError)
        for code in cls.err_codes:
            assert seen.setdefault(code, cls) is cls
    assert sorted(seen) == sorted(code for code, _ in REGISTERED)


def test_a_code_cannot_be_registered_twice() -> None:
    with pytest.raises(TypeError, match="10059"):

        class Duplicate(APIError):
            err_codes = (10059,)

    assert type(api_error_from({"err_code": 10059})) is errors.StreamNotFoundError


def test_no_stream_response_is_a_temporary_no_responders() -> None:
    err = errors.NoStreamResponseError("KV_orders", "$KV.orders.k")
    assert isinstance(err, natskv.NoRespondersError)
    assert isinstance(err, natskv.JetStreamError)
    assert not isinstance(err, natskv.KeyValueError)
    assert (err.stream, err.subject) == ("KV_orders", "$KV.orders.k")
    assert "KV_orders" in str(err) and "try again" in str(err)


@pytest.mark.parametrize(
    ("message", "cls", "closes"),
    [
        ("Authorization Violation", natskv.AuthorizationError, True),
        ("Authentication Timeout", natskv.AuthorizationError, True),
        ("User Authentication Expired", natskv.AuthorizationError, True),
        ("User Authentication Revoked", natskv.AuthorizationError, True),
        ("Account Authentication Expired", natskv.AuthorizationError, True),
        ('Permissions Violation for Publish to "x"', natskv.AuthorizationError, False),
        ('Permissions Violation for Subscription to "y"', natskv.AuthorizationError, False),
        ("maximum control line exceeded", natskv.ProtocolError, True),
        ("Unknown Protocol Operation", natskv.ProtocolError, True),
        ("Maximum Payload Violation", natskv.MaxPayloadError, True),
        ("Invalid Publish Subject", natskv.BadSubjectError, False),
        ("Invalid Subject", natskv.BadSubjectError, False),
        ("Slow Consumer", natskv.SlowConsumerError, True),
        ("Stale Connection", natskv.NatsConnectionError, True),
        ("maximum connections exceeded", natskv.NatsConnectionError, True),
        ("Secure Connection - TLS Required", natskv.NatsConnectionError, True),
    ],
)
def test_server_error_lines_are_classified_by_one_table(
    message: str, cls: type[natskv.NatsError], closes: bool
) -> None:
    err, fatal = server_error_from(message)
    assert type(err) is cls
    assert fatal is closes
    assert message in str(err)


def test_an_unknown_server_error_is_a_nats_error() -> None:
    err, fatal = server_error_from("Something New")
    assert type(err) is natskv.NatsError
    assert fatal is True
    assert "Something New" in str(err)


@pytest.mark.parametrize(
    ("status_line", "cls", "err_code"),
    [
        (b"NATS/1.0 404 Message Not Found", errors.NoMessageFoundError, 10037),
        (b"NATS/1.0 429 Too Many Requests", errors.TooManyRequestsError, 10167),
        (b"NATS/1.0 408 Empty Request", APIError, 0),
        (b"NATS/1.0 413 Too Many Results", APIError, 0),
    ],
)
def test_direct_get_statuses_take_the_registered_classes(
    status_line: bytes, cls: type[APIError], err_code: int
) -> None:
    from natskv.client import Msg
    from natskv.jetstream import check_direct_status

    msg = Msg("_INBOX.x", 1, None, b"", status_line + b"\r\n\r\n")
    with pytest.raises(APIError) as info:
        check_direct_status(msg)
    assert type(info.value) is cls
    assert info.value.code == msg.status
    assert info.value.err_code == err_code
    assert info.value.description == status_line.split(b" ", 2)[2].decode()
