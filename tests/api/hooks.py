"""Schemathesis hooks for tests/api/schemathesis_run.py (loaded via SCHEMATHESIS_HOOKS)."""

import uuid

import schemathesis


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    # A schema-valid request with an Idempotency-Key is one client request: a key
    # generated again for another body is a reuse the server rightly refuses (422),
    # which no schema can state. Each such request gets a key of its own.
    meta = case.meta
    if case.headers and "Idempotency-Key" in case.headers and meta is not None:
        if meta.generation.mode.is_positive:
            case.headers["Idempotency-Key"] = uuid.uuid4().hex
    # Likewise a usage batch: its batch_id sent again with other events is refused
    # (409) by design; each schema-valid batch gets an id of its own, so it is counted.
    if (
        case.path == "/api/v1/usage"
        and meta is not None
        and meta.generation.mode.is_positive
        and isinstance(case.body, dict)
    ):
        case.body["batch_id"] = uuid.uuid4().hex


# What a 422 may say about a schema-valid request: refusals that depend on the
# data already there (a name taken, a tenant without a custom domain, the tree's
# shape), which no schema can state. Any other field error means the document
# misses a constraint the server enforces.
STATE_REFUSALS = (
    "This subdomain is already taken.",
    "Another tenant already uses this domain.",
    "may not have sub-tenants.",
    "This tenant has no custom domain.",
    "Remove or change it in the tenant's settings.",
    "No TXT record found",
    "The TXT record",
    "A tenant cannot be moved under itself or one of its sub-tenants.",
    "The root tenant cannot be disabled.",
    "The root tenant is never capped",
    "Choose a tenant role from the list.",
    "Only an Owner of the root tenant may lower a cap in use",
    "This tenant has sub-tenants: move or delete them before turning this off.",
    # A bulk move's destination that does not exist (or is out of sight), and a bulk
    # filter that matches more tenants than one action takes.
    "There is no tenant ",
    "Narrow the filter, or select fewer tenants.",
    # A rule migration's target and mappings depend on the data: the source itself,
    # a tenant the caller may not migrate into, source ids the source does not have,
    # ids that are not the target's, a domain mapped apart from its rules'
    # application. (Its mappings' size and keys are in the schema.)
    "Choose another tenant than the source.",
    "No tenant you may migrate these rules to has this id",
    "You may not replace the rules of ",
    "Choose one of ",
    "The source tenant has no ",
    "but rules with this domain are bound to an application mapped to",
    # Constraints between two parameters, which a schema cannot state either: a
    # period's end before its start, a report longer than it may be.
    "The end date is before the start date.",
    "The last month cannot come before the first.",
    "A report covers at most ",
    # A rule's value and action depend on its kind (a constraint between fields);
    # its application and domain must be the tenant's, names unique in the tenant.
    "Enter an IPv4 or IPv6 address",
    "has host bits set",
    "Enter the requests per minute",
    "Enter a pattern.",
    "A pattern has at most",
    "A pattern cannot contain control characters.",
    # An internationalised domain in an allow or deny list is valid by UTS 46, which
    # no pattern states (the schema says so): its refusal names the lines.
    "is not a domain.",
    "are not domains.",
    # A plan a tenant (or one inheriting it) does not fit: its own limits, options
    # in use (branding, a custom domain, API tokens) — the data, not the request.
    " does not fit: ",
    "Enter monitoring or blocking.",
    "takes the action",
    "A mode rule's action follows its value",
    "Choose one of this tenant's",
    "This domain belongs to another application",
    "This tenant has an application of this name.",
    "This tenant has this domain already.",
    "A domain has at most 253 characters.",
    # A tenant's DNS configuration (#14): resolvers must be the tenant's, names and
    # identifiers unique in it, subnets not overlapping its others; a policy the
    # tenant does not see (#15).
    "Unknown resolver",
    "Unknown policy",
    "This tenant has a resolver of this name.",
    "has this identifier already.",
    "overlaps the subnet",
    "This tenant has the subnet",
    # Policies (#15): names unique in the tenant; a tenant above that locks a kind
    # to its own policy (the tree's data, not the request's form).
    "This tenant has a policy of this name.",
    " policy here: use ",
    # An opaque cursor exists only as an earlier page's answer.
    "The cursor is not valid",
    # …or one read in another period or order than the request's.
    "This cursor continues the rows of",
    # The stats period's months depend on today's date, which a pattern cannot know.
    "A month cannot be after the current month",
    # Resources (#14): who may share, with whom, which clouds a tenant sees, whose
    # users may own, names taken, and the limits (sums of what exists).
    "Only the root and tenants that may have sub-tenants share clouds",
    "Only an assigned cloud lists tenants.",
    # An assigned cloud lists someone (a constraint between two fields), and a plan
    # without sub-tenants starts no sharing (the tenant's plan, not the request).
    "Choose at least one tenant to assign the cloud to",
    "Sharing clouds goes with sub-tenants",
    "No tenant below this one that you can see has the id",
    "Unknown cloud: pick one of the clouds this tenant sees.",
    "Pick a user of this tenant",
    "This tenant already has a cloud named",
    " GB used",
    "no more instances fit.",
    # A logo upload (#16) is judged by the file's content — whether it is a PNG,
    # JPEG or SVG at all, and whether an SVG can be made safe — which no schema of a
    # binary body can state.
    "A logo must be a PNG, JPEG or SVG image.",
    "A logo has at most",
    "Choose an image file to upload.",
    "The image cannot be read",
    "The image cannot be encoded again.",
    "The SVG cannot be used as a logo",
    # Plans (#16): names taken, which plans exist, a tenant's own limits against its
    # plan's (and a plan's against its tenants' own), the options its plan includes.
    "A plan with this name exists.",
    "Choose a plan from the list.",
    "The root tenant is on no plan.",
    " on plan ",
    "Not in plan ",
    "lower theirs first.",
)


@schemathesis.check
def refused_only_for_state(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    try:
        body = response.json()
    except ValueError:
        body = {}
    errors = body.get("errors") or {}
    unexplained = [
        f"{field}: {message}"
        for field, message in errors.items()
        if not any(known in message for known in STATE_REFUSALS)
    ]
    if not errors or unexplained:
        raise AssertionError(
            "A schema-valid request was refused for its values: "
            + ("; ".join(unexplained) or body.get("detail", "?"))
        )
    return None


@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    # A batch answers per operation: an operation the schema forbids is refused on
    # its own (a 4xx result inside the 200) while the others still apply. That is a
    # rejection, not an acceptance, as long as some operation's result says so.
    # Usage ingestion likewise answers each event the schema forbids in its
    # `rejected` list, inside a 200, and counts the others.
    if getattr(failure, "code", None) != "ST201":
        return True
    try:
        answer = response.json()
    except ValueError:
        return True
    if not isinstance(answer, dict) or response.status_code != 200:
        return True
    if case.operation.label == "POST /api/v1/usage":
        return not answer.get("rejected")
    if case.operation.label != "POST /api/v1/tenants/batch":
        return True
    results = answer.get("results") or []
    return not any(400 <= r.get("status", 0) < 500 for r in results)
