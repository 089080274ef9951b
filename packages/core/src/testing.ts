// @oneshot-em/core/testing: the backend conformance suite, fixtures and gradient checks.
