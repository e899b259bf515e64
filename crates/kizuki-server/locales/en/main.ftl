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
mfa-enrol-text = Your role must use two-step verification before you can continue. Set up an authenticator app for your account first; ask your administrator if you need help.

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
