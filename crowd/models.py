from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q


class Organization(models.Model):
    """A tenant. Nothing of one organization is visible to another."""

    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"
        COORDINATOR = "coordinator"
        VIEWER = "viewer"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=12, choices=Role.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.organization_id}:{self.role}"


class ApiKey(models.Model):
    """A partner system's key: acts for its organization with the role it was issued with."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    role = models.CharField(max_length=12, choices=Membership.Role.choices, default=Membership.Role.OWNER)
    digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Null: the key works until it is revoked (or its creator loses the role it was issued with).
    expires_at = models.DateTimeField(null=True, blank=True)
    # To the minute (crowd/api/auth.py): owners see which keys are still in use before revoking one.
    last_used_at = models.DateTimeField(null=True, blank=True)
    # The key's first characters, not secret: lets owners tell their keys apart in lists without the key itself.
    prefix = models.CharField(max_length=16, blank=True, default="")

    def __str__(self) -> str:
        return f"key {self.name or self.pk} of {self.organization_id}"


class Invitation(models.Model):
    """An invitation to join an organization with a role (crowd/services/invitations.py). Only the sha256 of its
    secret is kept, so a database leak does not hand out memberships; the link works once and expires."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=12, choices=Membership.Role.choices)
    # Blank: a link-only invitation, handed over by the owner through whatever channel they like.
    email = models.EmailField(blank=True)
    digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self) -> str:
        return f"invitation {self.pk} to {self.organization_id}:{self.role}"


class Campaign(models.Model):
    class TaskType(models.TextChoices):
        SINGLE_CHOICE = "single_choice"
        MULTI_CHOICE = "multi_choice"
        FREE_TEXT = "free_text"

    class Status(models.TextChoices):
        DRAFT = "draft"
        ACTIVE = "active"
        PAUSED = "paused"
        COMPLETED = "completed"
        ARCHIVED = "archived"

    class Visibility(models.TextChoices):
        PUBLIC = "public"
        PRIVATE = "private"

    class Mode(models.TextChoices):
        # label: people never see a model's suggestion (no anchoring); review: they confirm or change it.
        LABEL = "label"
        REVIEW = "review"

    class AcceptRule(models.TextChoices):
        # How sure the evidence must be before a model's class is accepted (crowd/model_loop/acceptance.py):
        # lower_bound, its precision's 95% lower bound reaches the threshold (cautious, slower to accept);
        # estimate, the estimated precision does (the threshold read as written: faster, and it can take a class
        # whose estimate runs high).
        LOWER_BOUND = "lower_bound"
        ESTIMATE = "estimate"

    class Order(models.TextChoices):
        # Depth-first finishes items before starting new ones, so results arrive early.
        DEPTH_FIRST = "depth_first"
        BREADTH_FIRST = "breadth_first"
        # The least certain items first: the model's score before any answer, the posterior after.
        UNCERTAINTY_FIRST = "uncertainty_first"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200)
    instructions = models.TextField(blank=True)
    task_type = models.CharField(max_length=20, choices=TaskType.choices, default=TaskType.SINGLE_CHOICE)
    # [{"value": "pos", "text": "Positive"}, ...] (plain strings are normalized to this on input).
    labels = models.JSONField(default=list, blank=True)
    redundancy = models.PositiveSmallIntegerField(default=3, validators=[MinValueValidator(1)])
    max_redundancy = models.PositiveSmallIntegerField(default=5, validators=[MinValueValidator(1)])
    target_confidence = models.FloatField(default=0.9, validators=[MinValueValidator(0), MaxValueValidator(1)])
    items_per_task = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    reward_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="USD")
    estimated_seconds = models.PositiveIntegerField(default=60)
    languages = models.JSONField(default=list, blank=True)  # normalized BCP 47 base tags; empty = any
    # Instructions and label texts per interface language: {"sw": {"instructions": "...", "labels": {"v": "..."}}}
    # (crowd/campaign_texts.py). Answers always store the label's value.
    translations = models.JSONField(default=dict, blank=True)
    required_skills = models.JSONField(default=dict, blank=True)  # {"slug": min_level}
    lease_seconds = models.PositiveIntegerField(default=600)
    gold_ratio = models.FloatField(default=0.0, validators=[MinValueValidator(0), MaxValueValidator(1)])
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC)
    priority = models.SmallIntegerField(default=0)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.LABEL)
    # Review mode: the share of leased items served without the suggestion, at random, so the anchoring check
    # (crowd/model_loop/anchoring.py) has a control arm.
    blind_share = models.FloatField(default=0.1, validators=[MinValueValidator(0), MaxValueValidator(1)])
    # Auto-acceptance on evidence (crowd/model_loop/auto_accept.py); off by default.
    auto_accept = models.BooleanField(default=False)
    accept_threshold = models.FloatField(default=0.95, validators=[MinValueValidator(0), MaxValueValidator(1)])
    accept_min_evidence = models.PositiveIntegerField(default=50, validators=[MinValueValidator(1)])
    accept_min_score = models.FloatField(default=0.8, validators=[MinValueValidator(0), MaxValueValidator(1)])
    accept_confirmations = models.PositiveSmallIntegerField(default=1, validators=[MaxValueValidator(1)])
    accept_audit_share = models.FloatField(default=0.1, validators=[MinValueValidator(0), MaxValueValidator(1)])
    accept_rule = models.CharField(max_length=11, choices=AcceptRule.choices, default=AcceptRule.LOWER_BOUND)
    # The built-in baseline (crowd/model_loop/baseline_jobs.py): a TF-IDF text classifier trained on the campaign's
    # own confident labels that pre-labels the open items and takes part as one more annotator.
    baseline = models.BooleanField(default=False)
    # Routing rules (see crowd/eligibility.py).
    order = models.CharField(max_length=17, choices=Order.choices, default=Order.DEPTH_FIRST)
    min_language_level = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    min_quality = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(1)])
    min_quality_answers = models.PositiveSmallIntegerField(default=5)  # scored gold answers before quality counts
    sensitive = models.BooleanField(default=False)  # only for workers who opted in, capped per day
    sensitive_daily_cap = models.PositiveIntegerField(default=50)
    # Submitted work is approved automatically after this many hours unless a coordinator rejects it.
    approval_hours = models.PositiveIntegerField(default=72)
    # Off by default. When on, a submission with a failed gold item is rejected only once the worker has
    # failed at least `auto_reject_min_gold_failed` gold items in this campaign: never on one mistake.
    auto_reject_on_gold = models.BooleanField(default=False)
    auto_reject_min_gold_failed = models.PositiveSmallIntegerField(default=3, validators=[MinValueValidator(2)])
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    launched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(max_redundancy__gte=F("redundancy")), name="campaign_max_redundancy"),
            models.CheckConstraint(condition=Q(reward_minor__gte=0), name="campaign_reward_nonneg"),
            models.CheckConstraint(
                condition=Q(auto_reject_min_gold_failed__gte=2), name="campaign_gold_rejection_needs_evidence"
            ),
            models.CheckConstraint(condition=Q(gold_ratio__gte=0, gold_ratio__lte=1), name="campaign_gold_ratio"),
            models.CheckConstraint(
                condition=Q(target_confidence__gte=0, target_confidence__lte=1), name="campaign_target_confidence"
            ),
        ]
        indexes = [models.Index(fields=["status", "-priority"])]

    def __str__(self) -> str:
        return self.name

    def label_values(self) -> list[str]:
        return [label["value"] for label in self.labels]


class Item(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        COMPLETE = "complete"

    # No index of its own: item_external_id_unique (campaign, external_id) serves every lookup by campaign, and
    # each index more slows imports of a million rows.
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="items", db_index=False)
    external_id = models.CharField(max_length=200)
    data = models.JSONField(default=dict)
    language = models.CharField(max_length=35, blank=True)  # normalized BCP 47 tag, e.g. "sw-KE"
    prelabel_model = models.CharField(max_length=200, blank=True)
    prelabel = models.JSONField(null=True, blank=True)
    prelabel_score = models.FloatField(null=True, blank=True)
    # A known label: gold items are mixed into assignments and score workers; they join no microtask.
    gold = models.JSONField(null=True, blank=True)
    redundancy = models.PositiveSmallIntegerField(default=0)  # current answers target
    answer_count = models.PositiveIntegerField(default=0)
    result_label = models.JSONField(null=True, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    votes = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    # A coordinator's final label for an item the crowd left unsure (crowd/services/expert.py): the item's result,
    # and a known label that Dawid-Skene scores the workers against, as it does gold.
    expert_label = models.JSONField(null=True, blank=True)
    expert_by = models.ForeignKey(  # indexed only where set (below): every imported row would pay for a full index
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    expert_at = models.DateTimeField(null=True, blank=True)
    # The model whose label was accepted on evidence instead of people's answers ("" for people's label).
    accepted_model = models.CharField(max_length=200, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "external_id"], name="item_external_id_unique"),
        ]
        indexes = [
            models.Index(fields=["campaign", "id"], name="item_campaign_gold", condition=Q(gold__isnull=False)),
            models.Index(fields=["expert_by"], name="item_expert_by", condition=Q(expert_by__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.external_id}"

    @property
    def is_gold(self) -> bool:
        return self.gold is not None


class MicroTask(models.Model):
    """1..N items shown together. Slot counters live here so a claim locks exactly one row.

    `is_open` is kept equal to `active_count + done_count < target` (a CHECK makes the database hold
    us to it) so routing reads a small partial index of open microtasks only.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="microtasks")
    language = models.CharField(max_length=16, blank=True)  # base language of its items; "" = unspecified
    items = models.ManyToManyField(Item, through="MicroTaskItem", related_name="microtasks")
    target = models.PositiveSmallIntegerField()
    active_count = models.PositiveSmallIntegerField(default=0)
    done_count = models.PositiveSmallIntegerField(default=0)
    is_open = models.BooleanField(default=True)
    # Copied from the campaign when packed, so the claim's probe needs no join to the campaign.
    breadth_first = models.BooleanField(default=False)
    # Uncertainty first (crowd/services/certainty.py): the claim orders these by `certainty`, lowest first.
    by_certainty = models.BooleanField(default=False, db_default=False)
    certainty = models.FloatField(default=0.0, db_default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(active_count__gte=0, done_count__gte=0), name="microtask_counts_nonneg"),
            models.CheckConstraint(
                condition=Q(active_count__lte=F("target") - F("done_count")), name="microtask_never_over_assigned"
            ),
            models.CheckConstraint(
                condition=Q(is_open=True, active_count__lt=F("target") - F("done_count"))
                | Q(is_open=False, active_count__gte=F("target") - F("done_count")),
                name="microtask_is_open_consistent",
            ),
        ]
        indexes = [
            # The claim reads only these: its cost does not grow with the campaign (notes/routing-sql.md).
            models.Index(fields=["campaign", "language", "id"], name="microtask_open", condition=Q(is_open=True)),
            models.Index(
                fields=["campaign", "language", "certainty", "id"],
                name="microtask_open_by_certainty",
                condition=Q(is_open=True, by_certainty=True),
            ),
        ]

    def __str__(self) -> str:
        return f"microtask {self.pk}"


class MicroTaskItem(models.Model):
    # Indexed by microtask_item_unique (microtask, item) and the explicit item index below, not twice over.
    # No foreign-key constraint in the database: checking one locks the row it points at, and for a million new
    # items that cost more than writing the entries themselves (8 s of 12; docs/performance.md). Entries are written
    # only by the packing (campaigns.py::microtask_split, aggregation.py::_repack), in the transaction that created
    # or locked both rows, and items and microtasks are never deleted but with their campaign, through the ORM,
    # which deletes their entries first (on_delete still applies).
    microtask = models.ForeignKey(
        MicroTask, on_delete=models.CASCADE, related_name="entries", db_index=False, db_constraint=False
    )
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False)
    position = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["microtask", "item"], name="microtask_item_unique")]
        indexes = [models.Index(fields=["item"])]

    def __str__(self) -> str:
        return f"{self.microtask_id}#{self.position}: {self.item_id}"


class Assignment(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        SUBMITTED = "submitted"
        APPROVED = "approved"
        REJECTED = "rejected"
        EXPIRED = "expired"
        RELEASED = "released"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="assignments")
    microtask = models.ForeignKey(MicroTask, on_delete=models.CASCADE, related_name="assignments")
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    leased_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.CharField(max_length=20, blank=True)
    reward_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    seconds_on_task = models.FloatField(null=True, blank=True)
    # Active time from the worker page's heartbeats: gaps over two minutes count as idle, not work.
    active_seconds = models.FloatField(default=0)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    # SHA-256 of the canonical submitted answers: the same body again is a no-op, a different one a 409.
    submission_digest = models.CharField(max_length=64, blank=True)
    # Fetched ahead while the worker answers their current lease in the campaign (a slow link then waits for
    # nothing); it becomes the current one, its clock starting then, when the current one ends.
    queued = models.BooleanField(default=False, db_default=False)
    decided_at = models.DateTimeField(null=True, blank=True)  # approved or rejected
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )  # null: approved automatically
    reject_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            # One current lease per worker per campaign, and at most one queued behind it, held by the database:
            # two requests for work racing for the same worker cannot both insert one (the claim code returns the
            # lease that won).
            models.UniqueConstraint(
                fields=["campaign", "worker", "queued"],
                condition=Q(status="active"),
                name="assignment_one_active_per_campaign",
            ),
        ]
        indexes = [
            models.Index(fields=["expires_at"], name="assignment_active_expiry", condition=Q(status="active")),
            models.Index(fields=["submitted_at"], name="assignment_awaiting_approval", condition=Q(status="submitted")),
            models.Index(fields=["worker", "status"]),
        ]

    def __str__(self) -> str:
        return f"assignment {self.pk}"


class AssignmentItem(models.Model):
    """The items leased in an assignment (microtask items plus gold), one row per (worker, item) ever.

    The unique (worker, item) constraint is the last line of defence for "never the same item twice".
    """

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="entries")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()
    is_gold = models.BooleanField(default=False)
    # Review mode: True when served without the model's suggestion (the control arm), False when it was shown;
    # None in label mode, where no suggestion is ever in play.
    blind = models.BooleanField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "worker"], name="assignment_item_once_per_worker")]
        indexes = [models.Index(fields=["assignment", "position"])]

    def __str__(self) -> str:
        return f"{self.assignment_id}#{self.position}: {self.item_id}"


class Answer(models.Model):
    """One worker's label for one item. Immutable once stored."""

    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="answers")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="answers")
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="answers")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="answers")
    label = models.JSONField()
    is_gold = models.BooleanField(default=False)
    seconds_on_task = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "worker"], name="answer_once_per_item_worker"),
            models.CheckConstraint(condition=Q(seconds_on_task__gte=0), name="answer_seconds_nonneg"),
        ]
        indexes = [models.Index(fields=["campaign", "item"])]

    def __str__(self) -> str:
        return f"answer {self.pk}"


class CampaignWorker(models.Model):
    """Per (campaign, worker) routing state: how many leases, gold scored, estimated quality."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="worker_stats")
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="campaign_stats")
    assignments = models.PositiveIntegerField(default=0)
    gold_answers = models.PositiveIntegerField(default=0)
    gold_correct = models.PositiveIntegerField(default=0)
    # Gold accuracy at first; Dawid-Skene's estimate once aggregation has run. Null until there is evidence.
    quality = models.FloatField(null=True, blank=True)
    quality_answers = models.PositiveIntegerField(default=0)  # how many answers that estimate rests on

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "worker"], name="campaign_worker_unique"),
            models.CheckConstraint(condition=Q(gold_correct__lte=F("gold_answers")), name="campaign_worker_gold"),
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} in {self.campaign_id}"


class WorkerBlock(models.Model):
    """A coordinator keeps a worker away from one campaign, or from the whole organization."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="worker_blocks")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="blocks")
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks")
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "worker"], condition=Q(campaign__isnull=True), name="block_org_unique"
            ),
            models.UniqueConstraint(
                fields=["campaign", "worker"], condition=Q(campaign__isnull=False), name="block_campaign_unique"
            ),
        ]
        indexes = [models.Index(fields=["worker"])]

    def __str__(self) -> str:
        return f"block {self.worker_id} from {self.campaign_id or self.organization_id}"


class Annotator(models.Model):
    """A source of answers in a campaign's model: a worker, or a model whose pre-labels take part like a worker.

    Holds the latest Dawid-Skene estimate of its confusion matrix ([true class][answered class]) and accuracy.
    """

    class Kind(models.TextChoices):
        WORKER = "worker"
        MODEL = "model"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="annotators")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    model_name = models.CharField(max_length=200, blank=True)
    answers = models.PositiveIntegerField(default=0)
    accuracy = models.FloatField(null=True, blank=True)
    confusion = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "worker"], condition=Q(kind="worker"), name="annotator_worker_unique"
            ),
            models.UniqueConstraint(
                fields=["campaign", "model_name"], condition=Q(kind="model"), name="annotator_model_unique"
            ),
            models.CheckConstraint(
                condition=Q(kind="worker", worker__isnull=False)
                | (Q(kind="model", worker__isnull=True) & ~Q(model_name="")),
                name="annotator_kind_consistent",
            ),
        ]

    def __str__(self) -> str:
        return self.model_name if self.kind == self.Kind.MODEL else f"worker {self.worker_id}"


class AggregationRun(models.Model):
    """One aggregation of a campaign: what ran, on how much, how it converged, what it changed.

    Recorded as `running` before the work starts and marked `finished` in the work's own transaction, so a
    run whose worker died stays visible as `running` (the safety net retries it) and a redelivered run
    (same `task_id`) finds itself finished and is not applied twice.
    """

    class Status(models.TextChoices):
        RUNNING = "running"
        FINISHED = "finished"
        FAILED = "failed"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="aggregation_runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.FINISHED)
    # The Celery task id: a redelivered or retried message carries the same one.
    task_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    method = models.CharField(max_length=40)
    parameters = models.JSONField(default=dict)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.FloatField(default=0)
    answers = models.PositiveIntegerField(default=0)
    # Answer rows read (answers are never deleted): fewer than the campaign has now means the run is behind.
    answer_rows = models.PositiveIntegerField(default=0)
    items = models.PositiveIntegerField(default=0)
    annotators = models.PositiveIntegerField(default=0)
    iterations = models.PositiveIntegerField(default=0)
    converged = models.BooleanField(default=True)
    log_likelihood = models.FloatField(null=True, blank=True)
    prior = models.JSONField(default=list, blank=True)
    items_completed = models.PositiveIntegerField(default=0)
    items_raised = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["campaign", "-started_at"]),
            models.Index(fields=["status", "started_at"], name="aggrun_status_started"),
        ]

    def __str__(self) -> str:
        return f"aggregation {self.pk} of {self.campaign_id}"


class Appeal(models.Model):
    """A worker contests a rejection, once, with a message; a coordinator upholds or overturns it."""

    class Status(models.TextChoices):
        OPEN = "open"
        UPHELD = "upheld"
        OVERTURNED = "overturned"

    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="appeal")
    message = models.TextField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"appeal of {self.assignment_id} ({self.status})"


class FairPayCheck(models.Model):
    """One run of the fair-pay check on a campaign: what it measured and what it paid. Shown to coordinators."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="fair_pay_checks")
    checked_at = models.DateTimeField()
    submissions = models.PositiveIntegerField()
    median_seconds = models.FloatField()
    median_hourly_minor = models.FloatField()
    floor_hourly_minor = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    below_floor = models.BooleanField()
    topups = models.PositiveIntegerField(default=0)
    topup_total_minor = models.BigIntegerField(default=0)
    new_reward_minor = models.BigIntegerField(null=True, blank=True)
    # The raised reward made the campaign cost more than the organization's funds: paused until a deposit.
    paused_for_funds = models.BooleanField(default=False)
    topup_owed_minor = models.BigIntegerField(default=0)  # top-ups the funds could not cover yet

    class Meta:
        indexes = [models.Index(fields=["campaign", "-checked_at"])]

    def __str__(self) -> str:
        return f"fair-pay check of {self.campaign_id} at {self.checked_at:%Y-%m-%d %H:%M}"


class ItemImage(models.Model):
    """A phone-friendly copy of an item's image, made by a Celery job at import; the item's data keeps the original
    URL (exports use it). A failed copy is recorded and the item stays usable with its original image."""

    class Status(models.TextChoices):
        PENDING = "pending"
        READY = "ready"
        FAILED = "failed"

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="image")
    source = models.CharField(max_length=2048)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    path = models.CharField(max_length=300, blank=True)  # in default storage
    byte_size = models.PositiveIntegerField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.item_id}: {self.status}"


class ImportJob(models.Model):
    """An uploaded file imported by a Celery job (crowd/services/import_jobs.py), with what it did. All or nothing:
    a failed job leaves no item behind, and its first row errors say what to fix."""

    class Status(models.TextChoices):
        PREVIEW = "preview"  # uploaded from the web, waiting for the coordinator to check the preview and start it
        QUEUED = "queued"
        RUNNING = "running"
        FINISHED = "finished"
        FAILED = "failed"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    path = models.CharField(max_length=300)  # the upload, in default storage
    filename = models.CharField(max_length=200)
    size = models.BigIntegerField(default=0)
    rows_read = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # the first row errors: {row, field, message}
    error_code = models.CharField(max_length=40, blank=True)
    message = models.TextField(blank=True)
    # How to read the file: column mapping, ignored columns, trusted Label Studio annotations (import_formats.py).
    options = models.JSONField(default=dict, blank=True)
    note_count = models.PositiveIntegerField(default=0)
    notes = models.JSONField(default=list, blank=True)  # the first rows read but not used as asked: {row, message}
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["campaign", "-created_at"])]

    def __str__(self) -> str:
        return f"import {self.pk} of {self.campaign_id}: {self.status}"


class ArchiveJob(models.Model):
    """One zip of everything an organization holds, built by a Celery job (crowd/services/archives.py) on disk under
    ARCHIVE_ROOT and removed by a beat job ARCHIVE_KEEP_DAYS after it was built."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="archive_jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    campaigns_total = models.PositiveIntegerField(default=0)
    campaigns_done = models.PositiveIntegerField(default=0)
    rows_written = models.BigIntegerField(default=0)
    path = models.CharField(max_length=300, blank=True)  # relative to ARCHIVE_ROOT; "" once cleaned
    size = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self) -> str:
        return f"archive {self.pk} of {self.organization_id}: {self.status}"


class WebhookSubscription(models.Model):
    """Where an organization wants its events POSTed, signed with `secret` (crowd/webhooks/). Turned off by the
    delivery job after repeated failure (`disabled_reason` says why; owners are told); an owner turns it back on."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhooks")
    url = models.CharField(max_length=2000)
    events = models.JSONField(default=list)  # event type names (crowd/webhooks/events.py)
    # The partner needs it in the clear to check signatures, so it is stored as given and shown once.
    secret = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "active"])]

    def __str__(self) -> str:
        return f"webhook {self.pk} of {self.organization_id}"


class WebhookEvent(models.Model):
    """One thing that happened, written in the transaction of the change itself (the outbox): it exists only if
    the change committed. `uid` is the event id receivers see on every retry."""

    uid = models.UUIDField(unique=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=40)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.type} {self.uid}"


class WebhookDelivery(models.Model):
    """One event for one subscription: pending until the receiver answers 2xx (succeeded) or the retries run out
    (failed). A test send is tried once."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the job may try next; a claimed delivery is pushed ahead by the claim, so a worker that dies half way
    # leaves it due again rather than lost.
    next_attempt_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    is_test = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "subscription"], name="webhook_delivery_once")]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="webhook_delivery_due", condition=Q(status="pending")),
            models.Index(fields=["subscription", "-id"]),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk}: {self.status}"


class LabelModel(models.Model):
    """A model that labels items for an organization: imported with pre-labels, an ML backend, or the built-in
    baseline. Each version is its own row and its own annotator: items name it as `name@version` in
    `Item.prelabel_model` (just `name` when an import gave no version), which is how Dawid-Skene keys it."""

    class Kind(models.TextChoices):
        IMPORTED = "imported"
        BACKEND = "backend"
        BUILTIN = "builtin"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="label_models")
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "name", "version"], name="labelmodel_unique"),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def key(self) -> str:
        """What `Item.prelabel_model` and `Annotator.model_name` hold for this model."""
        return f"{self.name}@{self.version}" if self.version else self.name


class MLBackend(models.Model):
    """An HTTP endpoint speaking Label Studio's ML backend protocol that pre-labels a campaign's items
    (crowd/model_loop/backends.py). Its state is kept here and shown to the organization: a failing backend is
    never silent."""

    class Status(models.TextChoices):
        OK = "ok"
        FAILING = "failing"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="ml_backends")
    name = models.CharField(max_length=100)
    url = models.CharField(max_length=500)
    active = models.BooleanField(default=True)
    batch_size = models.PositiveSmallIntegerField(default=20, validators=[MinValueValidator(1), MaxValueValidator(500)])
    timeout_seconds = models.FloatField(default=10.0, validators=[MinValueValidator(1), MaxValueValidator(60)])
    # The model version its /health reported last: a new one means the open items are predicted again.
    model_version = models.CharField(max_length=100, blank=True)
    supports_training = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OK)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    items_predicted = models.PositiveIntegerField(default=0)
    items_rejected = models.PositiveIntegerField(default=0)
    # How far (item id) the backend's `scanned_version` has been through the campaign: a run resumes there, and an
    # item whose prediction was refused is not sent again until the model version changes.
    scanned_through_id = models.BigIntegerField(default=0)
    scanned_version = models.CharField(max_length=100, blank=True)
    # Final labels the campaign had when /train was last called: the next call waits for enough new ones.
    trained_labels = models.PositiveIntegerField(default=0)
    last_trained_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "name"], name="mlbackend_name_unique")]

    def __str__(self) -> str:
        return f"backend {self.name} of {self.campaign_id}"


class BaselineRun(models.Model):
    """One training of a campaign's built-in baseline, with its accuracy on the held-out share of its items."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="baseline_runs")
    version = models.PositiveIntegerField()
    trained_on = models.PositiveIntegerField()
    held_out = models.PositiveIntegerField()
    accuracy = models.FloatField(null=True, blank=True)
    items_labelled = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "version"], name="baselinerun_version_unique")]

    def __str__(self) -> str:
        return f"baseline {self.version} of {self.campaign_id}"
