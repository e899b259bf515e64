# Kizuki web UI — English. Every message here must also exist in ja/main.ftl with the same
# variables (checked by a test in src/web/i18n.rs).

## Frame
product-name = Kizuki
skip-to-content = Skip to main content
lang-switch-label = Language
nav-label = Main menu
nav-library = Case library
signed-in-as = Signed in as { $name }
sign-out = Sign out
footer-text = Kizuki — incident response, from the first report to the lessons learned.
back-to-start = Back to the start page
list-separator = {", "}

## Signing in
login-title = Sign in
login-signed-out = You have signed out.
login-email = E-mail address
login-password = Password
login-code = Authenticator code or recovery code
login-code-hint = Only if your account uses two-step verification: the 6 digits from your authenticator app, or one of your recovery codes.
login-submit = Sign in
login-email-required = Enter your e-mail address.
login-password-required = Enter your password.
login-code-required = This account uses two-step verification. Enter the code from your authenticator app, or a recovery code.
login-failed = The e-mail address, password or code is not correct, or the account is locked for a while after repeated failures.
login-too-many = Too many attempts from this network. Try again in { $seconds ->
        [one] one second
       *[other] { $seconds } seconds
    }.
form-unreadable = The form could not be read. Please try again.
csrf-title = Request refused
csrf-failed = This request did not come from a Kizuki page, or the page was too old. Reload the page and try again.
mfa-enrol-title = Set up two-step verification

## Errors
error-title = Something went wrong
internal-error = Something went wrong on the server. Please try again in a moment.
forbidden-title = Not permitted
forbidden-text = Your role does not allow this page. Ask your administrator if you need access.
not-found-title = Page not found
not-found-text = There is nothing at this address, or you do not have access to it.

## Case library
library-title = Case library
library-intro = Ten incidents from the Japanese government's study of organisations that were attacked, summarised in Kizuki's own words. Filter them to find cases like yours.
library-filter-text = Words to find
library-filter-category = Incident category
library-filter-attack_vector = Attack vector
library-filter-organisation_type = Type of organisation
library-filter-lesson_category = Lesson category
library-filter-any = Any
library-filter-unknown = “{ $value }” is not one of the choices; the filter was not applied.
library-search = Search
library-clear = Clear filters
library-count = { $count ->
        [0] No cases found
        [one] One case found
       *[other] { $count } cases found
    }
library-none = No case matches these filters. Remove a filter or try other words.
library-credit = Source: NISC (April 2022), 「サイバー攻撃を受けた組織における対応事例集（実事例における学びと気づきに関する調査研究）」 (research by Mizuho Research & Technologies), summarised in Kizuki's own words.

## One case
case-number = Case { $number }:
case-heading = Case { $number }: { $title }
case-organisation = Organisation
case-category = Category
case-attack-vectors = Attack vectors
case-day-one = Day 1 is
case-no-dated-timeline = (no dated timeline)
case-overview = Overview
case-situation = What happened
case-background = Background
case-impact = Impact
case-timeline = Timeline
case-timeline-empty = The study gives no timeline for this case.
case-timeline-legend = Days are counted from Day 1. Rows marked “(holiday)” fell on a weekend or public holiday.
case-when = When
case-causes = Causes
case-cause-technical = Technical cause:
case-cause-organisational = Root cause in the organisation:
case-limiters = What limited the damage
case-lessons = Lessons
case-challenges = Open challenges

## When a timeline entry happened
when-day = Day { $day }
when-days-before = { $n ->
        [one] 1 day before
       *[other] { $n } days before
    }
when-week = Week { $week }
when-week-or-later = Week { $week } or later
when-month = Month { $month }
when-months-before = { $n ->
        [one] 1+ month before
       *[other] { $n }+ months before
    }
when-undated = (date not given)
when-holiday-mark = {" "}(holiday)

## After-action report
report-heading = After-action report: incident { $id }
report-download-pdf = Download as PDF
report-download-md = Download as Markdown

## Incident categories
category-ransomware = Ransomware
category-web_defacement = Web defacement
category-unauthorised_access = Unauthorised access / account takeover
category-targeted_email = Targeted e-mail / malware
category-supply_chain = Supply-chain compromise
category-cloud_exposure = Cloud or service exposure
category-crypto_mining = Crypto-mining
category-data_leak = Data leak
category-denial_of_service = Denial of service
category-insider = Insider
category-other = Other

## Timeline lanes
lane-management_pr = Management & PR
lane-ciso_csirt = CISO & CSIRT
lane-it_business = IT & business units
lane-external = External parties

## Parts of the day
day-part-early_morning = early morning
day-part-morning = morning
day-part-afternoon = afternoon
day-part-evening = evening
day-part-night = night

## Navigation (more)
nav-incidents = Incidents
nav-report = Report a suspicion

## Form fields, shared
field-too-long = This is too long: at most { $max } characters.
field-bad-datetime = This is not a date and time. Use the picker, or write it as 2026-06-20T14:30.
field-invalid = Please check this field: { $reason }

## Report a suspicion
suspicion-title = Report a suspicion
suspicion-intro = Noticed something odd on a computer, in an e-mail or on a system? Tell us in your own words. It takes under a minute.
suspicion-false-alarm = A false alarm is welcome and costs you nothing. Reporting early is what stops an attack from spreading.
suspicion-what = What did you notice?
suspicion-what-hint = For example: "a message on my screen demands payment", "files have strange names", "I clicked a link in an odd e-mail".
suspicion-where = Which computer, system or place?
suspicion-where-hint = For example: your PC's name, the system's name, your floor or office. Leave empty if you are not sure.
suspicion-noticed = When did you notice it?
suspicion-noticed-hint = Leave empty if it was just now.
suspicion-contact = How can we reach you?
suspicion-contact-hint = Phone, e-mail or desk. Leave empty to stay anonymous.
suspicion-submit = Send the report
suspicion-what-required = Tell us in a few words what you noticed.
suspicion-noticed-future = This time is in the future. Leave it empty if it was just now.
suspicion-thanks-title = Thank you for reporting
suspicion-reference = Your report number is { $reference }. Quote it if anyone asks about your report.
suspicion-thanks-false-alarm = If it turns out to be nothing, that is fine: you did the right thing.
suspicion-next-title = What happens next
suspicion-next-team = The response team looks at your report and contacts you if they need to know more.
suspicion-next-network = If you can, disconnect the computer from the network: unplug the cable and turn off Wi-Fi.
suspicion-next-keep = Do not switch it off and do not delete anything: what is on it helps find out what happened.
suspicion-next-more = If you notice anything else, report it too.
suspicion-another = Report something else

## Incident board
board-title = Incidents
board-counts-label = Open incidents by phase
board-filter-phase = Phase
board-filter-severity = Severity
board-filter-owner = Lane owner
board-owner-me = Me (my lanes)
board-severity-at-least = { $level } ({ $name }) or higher
board-include-closed = Include closed incidents
board-shown = { $count ->
        [0] No incidents shown
        [one] One incident shown
       *[other] { $count } incidents shown
    }
board-none = No incident matches these filters.
board-col-incident = Incident
board-col-severity = Severity
board-col-phase = Phase
board-col-day = Today is
board-col-clock = Next legal deadline
board-exercise = Exercise
board-no-clock = none running
board-older = Older incidents

## Legal clocks
clock-due = due { $at }
clock-status-running = running
clock-status-due = due now
clock-status-overdue = overdue
clock-status-met = done
clock-kind-appi_preliminary = APPI preliminary report
clock-kind-appi_final = APPI final report
clock-kind-gdpr = GDPR notification (72 h)
clock-kind-custom = Custom deadline

## Phases
phase-reported = Reported
phase-triage = Triage
phase-containment = Containment
phase-eradication = Eradication
phase-recovery = Recovery
phase-post_incident = Post-incident
phase-closed = Closed

## Incident page
incident-heading = #{ $id } { $title }
incident-today = Today is
incident-aware-at = Aware since
incident-clocks = Legal deadlines
incident-members = Members
incident-no-members = No one has been added yet.
incident-report-link = After-action report
incident-summary = Summary
incident-timeline-empty = Nothing on the timeline yet.
incident-timeline-count = { $count ->
        [one] One entry.
       *[other] { $count } entries.
    }
incident-tasks = Tasks by lane
incident-no-tasks = No tasks yet. Apply a playbook to get the usual ones.
incident-decisions = Decisions
incident-no-decisions = No decisions recorded yet.
incident-evidence = Evidence and custody
incident-no-evidence = No evidence recorded yet.
incident-observables = Observables
incident-no-observables = No observables recorded yet.
incident-parties = Parties and contacts
incident-no-parties = No parties recorded yet.
member-line = { $name } ({ $role })
observable-shared = Also seen in:
evidence-location = Kept at: { $location }
party-phone = Phone:
party-email = E-mail:
party-fallback = If those fail:

## Quick add
quick-title = Add to the timeline
quick-lane = Lane
quick-kind = Kind
quick-at = When
quick-at-hint = Leave empty for now.
quick-text = What happened
quick-submit = Add
quick-added = Added to the timeline.
quick-lane-required = Choose a lane.
quick-kind-required = Choose a kind.
quick-text-required = Write what happened.

## Timeline entry kinds
entry-kind-detection = Detection
entry-kind-analysis = Analysis
entry-kind-containment = Containment
entry-kind-communication = Communication
entry-kind-decision = Decision
entry-kind-recovery = Recovery
entry-kind-disclosure = Disclosure
entry-kind-other = Other

## Tasks
task-status-open = To do
task-status-done = Done
task-status-skipped = Skipped
task-due = due { $at }

## Decisions
decision-decided = Decided by { $who } at { $at }.
decision-decided-by = Decided by { $who }.
decision-decide-by = Decide by { $at }
decision-chosen = chosen
decision-open = Not decided yet.

## Custody
custody-collected = collected
custody-transferred = handed over
custody-analysed = analysed
custody-stored = stored
custody-returned = returned
custody-destroyed = destroyed

## Parties
party-kind-internal = Internal
party-kind-vendor_forensics = Forensics vendor
party-kind-vendor_antivirus = Antivirus vendor
party-kind-vendor_edr = EDR vendor
party-kind-mss = Managed security service
party-kind-hosting = Hosting provider
party-kind-jpcert = JPCERT/CC
party-kind-police = Police
party-kind-ppc = Personal Information Protection Commission
party-kind-regulator = Regulator
party-kind-nisc = NISC
party-kind-ipa = IPA
party-kind-customer = Customer
party-kind-supplier = Supplier
party-kind-group_company = Group company
party-kind-other = Other

## Roles
role-admin = Administrator
role-incident_commander = Incident commander
role-responder = Responder
role-executive = Executive
role-pr_legal = PR / legal
role-business_unit = Business unit
role-reporter = Reporter
role-external_responder = External responder

## Incident page forms
choose-one = Choose one of the choices.
triage-submit = Save severity, phase and category
triage-stale = A colleague changed this incident while you were editing: it is now at severity { $severity }, phase { $phase }. Your choices are kept below; save again to apply them over the colleague's change.
playbook-title = Playbook
playbook-submit = Apply the playbook
playbook-already-applied = This playbook is already applied to this incident; its tasks are listed below.
decision-new-title = Record a decision
decision-question = Question to decide
decision-option = Option { $n }
decision-option-label = What would be done
decision-option-scenario = What it leads to
decision-chosen-field = Decided already?
decision-chosen-none = Not yet: leave it open
decision-rationale = Reasons
decision-submit = Record the decision
decision-outcome-title = Which option was taken?
decision-outcome-submit = Record the outcome
decision-question-required = Write the question to decide.
decision-label-required = Say what this option would do, or clear its scenario.
decision-two-options = A decision needs at least two options.
decision-chosen-empty = The chosen option is empty.
decision-may-not-decide = Your role may propose decisions but not take them; leave the decision open.
decision-already-decided = A colleague recorded the outcome first; it is shown above.
decision-scenario-required = Say what this option leads to: that is what the decision will be judged against later.

## Lane owners, members, clocks, observables (incident page)
clock-mark-met = Mark “{ $clock }” done
clock-gone = That deadline no longer exists; the list shows the current ones.
incident-lane-owners = Lane owners
lane-no-owner = no owner
lane-owner = Owner
lane-owner-submit = Set lane owner
team-change = Change lane owners and members
member-remove = Remove
member-remove-label = Remove { $member } from this incident
member-add-label = Add a member
member-add = Add member
observable-add-title = Add an observable
observable-kind = Kind
observable-value = Value
observable-note = Note (optional)
observable-add = Add observable
observable-value-required = Enter the indicator, for example an IP address or a domain.
observable-kind-ip = IP address
observable-kind-cidr = Network range (CIDR)
observable-kind-domain = Domain
observable-kind-url = URL
observable-kind-email = E-mail address
observable-kind-hash = File hash
observable-kind-account = Account
observable-kind-file_name = File name

## Two-step verification
mfa-required-note = Your role must use two-step verification. Set it up now; it takes a minute.
mfa-intro = Two-step verification asks for a 6-digit code from an authenticator app on your phone each time you sign in, so a stolen password alone is not enough.
mfa-start = Set up an authenticator app
mfa-scan = Scan the QR code with your authenticator app (or type the key below into it).
mfa-type-code = Type the 6-digit code the app shows.
mfa-qr-alt = QR code for your authenticator app
mfa-secret-text = Key for typing in by hand:
mfa-code = Code from the app
mfa-confirm = Turn on two-step verification
mfa-code-wrong = This is not the app's current code. Check that the phone's clock is right, wait for a new code and try again.
mfa-done = Two-step verification is on.
mfa-recovery-title = Recovery codes
mfa-recovery-text = Each code signs you in once if you lose your phone. Keep them somewhere safe and offline: they are shown only now.
mfa-continue = Continue

## New incident
new-incident-title = New incident
new-incident-name = Title
new-incident-title-required = Give the incident a short title.
new-incident-choose = Choose…
new-incident-category-with-playbook = { $category } (playbook: { $playbook })
new-incident-apply-playbook = Apply the category's playbook now
new-incident-severity-default = Not yet known (lowest level)
new-incident-source = How it was detected
new-incident-restricted = Need-to-know: only members see it
new-incident-submit = Open the incident
source-edr = EDR
source-ids = IDS / IPS
source-antivirus = Antivirus
source-monitoring = Monitoring (SOC)
source-hunting = Threat hunting
source-user_report = Report from an employee
source-external_jpcert = JPCERT/CC or another CSIRT
source-external_customer = A customer or partner
source-external_media = The media
source-external_police = The police
source-external_other = Another outside party
source-unknown = Not known
task-note = What was done (optional)
task-mark-done = Done
task-already-done = A colleague marked this task done first; it is shown below.

## Enrolment (first password)
enrol-title = Set your password
enrol-intro = Your administrator made an account for you. Choose a password to finish it; then sign in.
enrol-code = Enrolment code
enrol-code-hint = Filled in from your link. If it is empty, paste the part of the link after “#”.
enrol-code-missing = The enrolment code is missing: open the link you were given, or paste the part after “#”.
enrol-password = New password
enrol-password-hint = At least 12 characters; a few unrelated words are easy to remember and hard to guess.
enrol-password-again = The same password again
enrol-passwords-differ = The two passwords are not the same.
enrol-password-weak = This password is too easy to guess: { $reason } Your link still works; choose another.
enrol-link-unknown = This enrolment link is unknown, already used or expired. Ask your administrator for a new one.
enrol-submit = Set the password
enrol-done-title = Password set
enrol-done-text = Your password is set. Sign in with your e-mail address and the new password.

## Administration
nav-admin = People
admin-users-title = People and roles
admin-saved = Saved.
admin-person = Person
admin-role = Role
admin-mfa = Two-step verification
admin-state = Account
admin-save-role = Save role
admin-mfa-on = on
admin-mfa-off = off
admin-reset-mfa = Reset (signs them out)
admin-active = active
admin-inactive = deactivated
admin-deactivate = Deactivate
admin-activate = Reactivate
admin-add-title = Add a person
admin-name = Name
admin-add-submit = Add and make an enrolment link
admin-created = { $email } was added. Give them this one-time link by a trusted route (it works once, for 72 hours, and is not shown again):
admin-email-taken = Someone already has this e-mail address.

## Administration: playbooks and tokens

nav-admin-playbooks = Playbooks
admin-playbooks-title = Playbooks
admin-playbook-id = Id
admin-playbook-title-col = Playbook
admin-playbook-category = Category
admin-playbook-version = Version
admin-playbook-origin = Comes from
admin-playbook-builtin = built into Kizuki
admin-playbook-folder = the server's playbook folder
admin-playbook-uploaded = uploaded by { $name } on { $at }
admin-playbook-someone = a deleted account
admin-playbook-upload-title = Upload a new version
admin-playbook-upload-help = Paste the playbook in YAML. "Validate" checks it without saving; "Save new version" puts it in use for every new application of the playbook. Its version must be higher than the one in use.
admin-playbook-source = Playbook (YAML)
admin-playbook-validate = Validate
admin-playbook-save = Save new version
admin-playbook-errors = { $count } problem(s) to fix, each with its line and field:
admin-playbook-error-line = Line { $line }, { $field }: { $message }
admin-playbook-whole = the whole file
admin-playbook-valid = Valid: { $id }, version { $version }, { $tasks } tasks. Nothing has been saved yet.
admin-playbook-not-higher = Version { $current } of { $id } is in use. Give this one version { $next } or higher.
admin-playbook-empty = Paste a playbook first.
admin-playbook-too-large = A playbook may be at most 256 KiB.
admin-playbook-saved = Saved. Version { $version } is now in use.
admin-playbook-phase = Phase
admin-playbook-task = Task
admin-playbook-due = Due
admin-playbook-due-start = { $offset } after Day 1 begins
admin-playbook-due-applied = { $offset } after the playbook is applied
admin-playbook-no-due = no due time
admin-playbook-source-title = Source
admin-playbook-source-unknown = This playbook was loaded from the server's playbook folder; its file is there.
nav-admin-tokens = Everyone's tokens
nav-tokens = My API tokens
tokens-title = My API tokens
admin-tokens-title = Everyone's API tokens
token-name = Name
token-owner = Owner
token-access = Access
token-access-read = read only
token-access-write = read and write
token-resources = What it may reach
token-created = Made
token-expires = Stops working
token-never = never
token-state = State
token-revoke = Revoke
token-revoked = The token was revoked; it no longer works.
token-revoked-at = revoked { $at }
token-new-title = Make a token
token-days = Days until it stops working (1–365)
token-create = Make the token
token-secret-once = Copy this token now. It is shown only this once; Kizuki keeps only a fingerprint of it. Treat it like a password.
token-name-invalid = Give the token a name (up to 200 characters).
token-days-invalid = Give a whole number of days from 1 to 365.
token-resources-invalid = Tick at least one thing the token may reach.
# Acknowledgement links (/ack/…)
ack-title = Acknowledge a notification
ack-about = This notification is about:
ack-explain = Press the button to confirm that you have seen it. The escalation to the next people stops once someone confirms.
ack-confirm = I have seen it
ack-done = Thank you, your acknowledgement is recorded.
ack-already = This notification was already acknowledged.
ack-by-at = Acknowledged by { $who } at { $at }.
ack-someone = someone
ack-next = Sign in to Kizuki to see the incident and join the response.
ack-expired-title = This link has expired
ack-expired-text = Acknowledgement links work for seven days. Sign in to Kizuki and acknowledge on the incident page instead.
ack-invalid-title = This link is not valid
ack-invalid-text = The link is incomplete or has been changed. Open it again from the message, or sign in to Kizuki and acknowledge on the incident page.
# Notifications and the phone tree on the incident page
notifications-title = Notifications
notifications-none = Nobody has been notified about this incident yet.
notification-error = Error: { $error }
notification-ack = Acknowledge
notification-ack-label = Acknowledge the notification to { $recipient }
notification-ack-not-yours = You can acknowledge only notifications addressed to you. Incident commanders can acknowledge any.
notification-state-pending = waiting to be sent
notification-state-sent = sent
notification-state-failed = failed
notification-state-acknowledged = acknowledged
channel-email = e-mail
channel-phone-tree = phone tree
channel-webhook = webhook { $name }
phone-tree-title = Phone tree
phone-tree-none = There is nobody on this incident's call list.
phone-tree-explain = Call each person and record what happened. Each call is also written to the timeline.
phone-tree-not-called = Not called yet.
call-line = { $at }: { $outcome } ({ $who })
call-outcome = Outcome
call-note = Note
call-submit = Record the call to { $recipient }
call-stale = Someone recorded a call on this line just now. Check the list above, then record yours again if it is still needed.
call-outcome-reached = reached
call-outcome-voicemail = left a message
call-outcome-no_answer = no answer
call-outcome-wrong_number = wrong number
# Who is on call
oncall-title = On call now
oncall-until = until { $at }
oncall-no-handover = no hand-over planned
oncall-nobody = nobody right now
oncall-covering = covering
oncall-unknown-user = user #{ $id }
# Notification administration (/admin/notify)
nav-admin-notify = Notifications
admin-notify-title = Notifications
admin-notify-sections = Sections of this page
admin-notify-saved = Saved.
admin-notify-back = Back to notifications
admin-notify-templates = Message templates
admin-notify-template-changed-tag = changed
admin-notify-rotations = On-call rotations
admin-notify-no-rotations = There are no rotations yet.
admin-notify-members = Members: { $members }
admin-notify-now = On call now: { $who }
admin-notify-rotation-schedule = { $period }, hand-over at { $handover } ({ $zone }), starting { $start }
admin-notify-period = Turns
admin-notify-period-daily = daily
admin-notify-period-weekly = weekly
admin-notify-period-days = every few days
admin-notify-override-line = { $who } covers from { $from } to { $to }
admin-notify-add-override = Add someone covering
admin-notify-override-who = Who covers
admin-notify-override-from = From
admin-notify-override-to = Until
admin-notify-override-order = The end must be after the start.
admin-notify-new-rotation = New rotation
admin-notify-name = Name
admin-notify-rotation-members = Members, in order of their turns
admin-notify-handover = Hand-over time
admin-notify-start = First turn starts on
admin-notify-zone = Time zone
admin-notify-create-rotation = Create the rotation
admin-notify-bad-time = Enter a time such as 09:00.
admin-notify-bad-date = Enter a date such as 2026-06-01.
admin-notify-rules = Notification rules
admin-notify-no-rules = There are no rules yet. Whoever is on call still hears about every new incident.
admin-notify-any-category = any category
admin-notify-rule-summary = level { $level } or above, { $categories }: { $recipients } by { $channels }
admin-notify-disabled = disabled
admin-notify-delete = Delete
admin-notify-delete-label = Delete { $name }
admin-notify-in-use = Rules or the escalation chain still use this, so it was not deleted. Change them first.
admin-notify-rule-stale = Someone changed this rule just now. Look at it again before deleting it.
admin-notify-new-rule = New rule
admin-notify-min-level = From level
admin-notify-recipient = Who is told
admin-notify-on-call-of = whoever is on call in { $rotation }
admin-notify-template-kind = Message
admin-notify-channels = How
admin-notify-categories = Categories (none ticked means every category)
admin-notify-on-reports = Also for untriaged suspicion reports
admin-notify-create-rule = Create the rule
admin-notify-webhooks = Webhook targets
admin-notify-no-webhooks = There are no webhook targets yet.
admin-notify-new-webhook = New webhook target
admin-notify-format = Format
admin-notify-url = Address (URL)
admin-notify-secret = Signing secret
admin-notify-secret-hint = Only for the signed JSON format: at least 16 characters, or leave it empty and Kizuki makes one and shows it to you once.
admin-notify-name-required = Give it a name (up to 200 characters).
admin-notify-name-taken = That name is already in use.
admin-notify-create-webhook = Add the webhook target
admin-notify-template-title = Message template
admin-notify-template-built-in = This is the built-in text. Saving stores your version instead.
admin-notify-template-changed = An administrator changed this text. "Back to the built-in text" undoes that.
admin-notify-template-fields = Fields you can use:
admin-notify-template-subject = Subject
admin-notify-template-body = Message
admin-notify-preview = Preview
admin-notify-preview-title = Preview with sample facts (nothing was saved):
admin-notify-save = Save
admin-notify-reset = Back to the built-in text
admin-notify-template-stale = Someone saved this template while you were editing it. Your text is kept below; save again to replace theirs.
admin-notify-template-too-long = The subject may have up to 300 characters and the message up to 20,000.
template-kind-new_incident = New incident
template-kind-escalation = Escalation
template-kind-clock_due_soon = Legal deadline soon
template-kind-clock_overdue = Legal deadline passed
template-kind-action_reminder = Corrective action reminder
template-error-at = Line { $line }, column { $column }: { $problem }
template-unknown-field = there is no field called "{ $name }"
template-not-available = the field "{ $name }" is not available in this kind of message
template-unclosed = "{"{{"}" is not closed with "{"}}"}" on the same line
template-empty-field = "{"{{}}"}" names no field
template-stray-close = "{"}}"}" has no matching "{"{{"}"
template-subject-line-break = the subject must be a single line
admin-notify-secret-once = The webhook target was added. Its signing secret is { $secret } — copy it into the receiver now; it is never shown again.
