# Kizuki web UI — 日本語。メッセージは en/main.ftl と同じ ID・同じ変数でそろえること
# （src/web/i18n.rs のテストで確認しています）。

## 画面の枠
product-name = Kizuki
skip-to-content = 本文へ移動
lang-switch-label = 表示言語
nav-label = メインメニュー
nav-library = 事例ライブラリ
signed-in-as = { $name } さん
sign-out = ログアウト
footer-text = Kizuki — 最初の報告から教訓まで、インシデント対応を支えます。
back-to-start = 最初のページへ戻る
list-separator = 、

## ログイン
login-title = ログイン
login-signed-out = ログアウトしました。
login-email = メールアドレス
login-password = パスワード
login-code = 認証コードまたはリカバリーコード
login-code-hint = 2段階認証を設定している場合のみ入力してください。認証アプリに表示される6桁の数字か、リカバリーコードのいずれかです。
login-submit = ログイン
login-email-required = メールアドレスを入力してください。
login-password-required = パスワードを入力してください。
login-code-required = このアカウントは2段階認証を使っています。認証アプリのコードか、リカバリーコードを入力してください。
login-failed = メールアドレス、パスワードまたはコードが正しくありません。失敗が続いた場合は、しばらくの間ログインできなくなります。
login-too-many = このネットワークからの試行が多すぎます。{ $seconds }秒後にもう一度お試しください。
form-unreadable = 入力内容を読み取れませんでした。もう一度お試しください。
csrf-title = 要求を受け付けられません
csrf-failed = この操作は Kizuki の画面から送られたものと確認できないか、画面が古くなっています。ページを再読み込みしてから、もう一度お試しください。
mfa-enrol-title = 2段階認証の設定

## エラー
error-title = エラーが発生しました
internal-error = サーバーで問題が発生しました。少し時間をおいてから、もう一度お試しください。
forbidden-title = 権限がありません
forbidden-text = あなたのロールでは、このページを表示できません。必要な場合は管理者にご相談ください。
not-found-title = ページが見つかりません
not-found-text = このアドレスには何もないか、閲覧する権限がありません。

## 事例ライブラリ
library-title = 事例ライブラリ
library-intro = サイバー攻撃を受けた組織の対応事例10件を、Kizuki 独自の言葉で要約しています。条件で絞り込んで、自組織に近い事例を探せます。
library-filter-text = キーワード
library-filter-category = インシデントの種類
library-filter-attack_vector = 攻撃の経路
library-filter-organisation_type = 組織の種類
library-filter-lesson_category = 気付きの分類
library-filter-any = 指定なし
library-filter-unknown = 「{ $value }」は選択肢にないため、この条件は使っていません。
library-search = 検索
library-clear = 条件をクリア
library-count = { $count ->
        [0] 該当する事例はありません
       *[other] { $count }件の事例が見つかりました
    }
library-none = 条件に合う事例はありません。条件を減らすか、別のキーワードでお試しください。
library-credit = 出典：NISC（内閣サイバーセキュリティセンター）「サイバー攻撃を受けた組織における対応事例集（実事例における学びと気づきに関する調査研究）」（2022年4月、調査：みずほリサーチ&テクノロジーズ）。文章は Kizuki による要約です。

## 事例の詳細
case-number = ケース{ $number }：
case-heading = ケース{ $number }：{ $title }
case-organisation = 組織
case-category = 種類
case-attack-vectors = 攻撃の経路
case-day-one = 1日目の基準
case-no-dated-timeline = （日付の入った時系列なし）
case-overview = 概要
case-situation = 経緯
case-background = 背景
case-impact = 影響
case-timeline = 時系列
case-timeline-empty = この事例には時系列の記載がありません。
case-timeline-legend = 日数は1日目から数えています。「（休）」は土日・祝日です。
case-when = 日時
case-causes = 原因
case-cause-technical = 技術的な原因：
case-cause-organisational = 組織としての根本原因：
case-limiters = 被害を抑えられた要因
case-lessons = 気付きと取組み
case-challenges = 残る課題

## 時系列の日時
when-day = { $day }日目
when-days-before = { $n }日前
when-week = { $week }週目
when-week-or-later = { $week }週目以降
when-month = { $month }か月目
when-months-before = { $n }か月以上前
when-undated = （日時非公表）
when-holiday-mark = （休）

## 事後レビュー報告書
report-heading = 事後レビュー報告書：インシデント { $id }
report-download-pdf = PDF でダウンロード
report-download-md = Markdown でダウンロード

## インシデントの種類
category-ransomware = ランサムウェア
category-web_defacement = Web サイト改ざん
category-unauthorised_access = 不正アクセス・アカウント乗っ取り
category-targeted_email = 標的型メール・マルウェア
category-supply_chain = サプライチェーン経由の侵害
category-cloud_exposure = クラウド・サービスの設定不備による露出
category-crypto_mining = 暗号資産の不正マイニング
category-data_leak = 情報漏えい
category-denial_of_service = サービス妨害（DoS）
category-insider = 内部不正
category-other = その他

## 時系列のレーン
lane-management_pr = 経営・広報
lane-ciso_csirt = CISO・CSIRT
lane-it_business = 情報システム・事業部門
lane-external = 外部関係者

## 時間帯
day-part-early_morning = 未明
day-part-morning = 午前
day-part-afternoon = 午後
day-part-evening = 夕方
day-part-night = 夜

## Navigation (more)
nav-incidents = インシデント
nav-report = 不審な事象を報告

## Form fields, shared
field-too-long = 長すぎます（{ $max } 文字まで）。
field-bad-datetime = 日時として読めません。カレンダーから選ぶか、2026-06-20T14:30 の形で入力してください。
field-invalid = この項目を確認してください：{ $reason }

## Report a suspicion
suspicion-title = 不審な事象の報告
suspicion-intro = パソコンやメール、システムで「おかしい」と感じたことを、ご自身の言葉で教えてください。1分もかかりません。
suspicion-false-alarm = 結果的に何でもなくても、まったく問題ありません。早めの報告こそが被害の拡大を止めます。
suspicion-what = 何に気付きましたか？
suspicion-what-hint = 例：「画面に金銭を要求するメッセージが出た」「ファイル名がおかしくなっている」「不審なメールのリンクを開いてしまった」
suspicion-where = どのパソコン・システム・場所ですか？
suspicion-where-hint = 例：パソコンの名前、システム名、フロアや事業所。分からなければ空欄で構いません。
suspicion-noticed = いつ気付きましたか？
suspicion-noticed-hint = たった今なら空欄のままで構いません。
suspicion-contact = 連絡先
suspicion-contact-hint = 電話・メール・席など。匿名にしたい場合は空欄で構いません。
suspicion-submit = 報告を送る
suspicion-what-required = 気付いたことを一言でも書いてください。
suspicion-noticed-future = 未来の日時になっています。たった今なら空欄にしてください。
suspicion-thanks-title = ご報告ありがとうございます
suspicion-reference = 受付番号は { $reference } です。この報告について問い合わせる際にお伝えください。
suspicion-thanks-false-alarm = 何でもなかったとしても問題ありません。報告していただいたことが正しい行動です。
suspicion-next-title = この後の流れ
suspicion-next-team = 対応チームが内容を確認し、詳しく伺う必要があればご連絡します。
suspicion-next-network = 可能であれば、そのパソコンをネットワークから切り離してください（LANケーブルを抜く、Wi-Fiを切る）。
suspicion-next-keep = 電源は切らず、ファイルも消さないでください。残っている情報が原因の究明に役立ちます。
suspicion-next-more = ほかにも気付いたことがあれば、あわせて報告してください。
suspicion-another = 別の事象を報告する

## Incident board
board-title = インシデント
board-counts-label = 対応中のインシデント（フェーズ別）
board-filter-phase = フェーズ
board-filter-severity = 深刻度
board-filter-owner = レーン担当者
board-owner-me = 自分（担当レーンあり）
board-severity-at-least = { $level }（{ $name }）以上
board-include-closed = 終了したインシデントも表示
board-shown = { $count ->
        [0] 該当するインシデントはありません
       *[other] { $count } 件を表示
    }
board-none = 条件に合うインシデントはありません。
board-col-incident = インシデント
board-col-severity = 深刻度
board-col-phase = フェーズ
board-col-day = 経過
board-col-clock = 次の法定期限
board-exercise = 演習
board-no-clock = 進行中の期限なし
board-older = さらに古いインシデント

## Legal clocks
clock-due = 期限 { $at }
clock-status-running = 進行中
clock-status-due = 期限到来
clock-status-overdue = 期限超過
clock-status-met = 完了
clock-kind-appi_preliminary = 個人情報保護法 速報
clock-kind-appi_final = 個人情報保護法 確報
clock-kind-gdpr = GDPR 通知（72時間）
clock-kind-custom = 独自の期限

## Phases
phase-reported = 報告受付
phase-triage = トリアージ
phase-containment = 封じ込め
phase-eradication = 根絶
phase-recovery = 復旧
phase-post_incident = 事後対応
phase-closed = 終了

## Incident page
incident-heading = #{ $id } { $title }
incident-today = 経過
incident-aware-at = 認知日時
incident-clocks = 法定期限
incident-members = メンバー
incident-no-members = まだ誰も追加されていません。
incident-report-link = 事後報告書
incident-summary = 概要
incident-timeline-empty = 時系列はまだありません。
incident-timeline-count = { $count } 件。
incident-tasks = レーン別のタスク
incident-no-tasks = タスクはまだありません。プレイブックを適用すると標準のタスクが入ります。
incident-decisions = 意思決定
incident-no-decisions = 記録された意思決定はまだありません。
incident-evidence = 証拠と保管の記録
incident-no-evidence = 証拠はまだ記録されていません。
incident-observables = 観測情報（IOC）
incident-no-observables = 観測情報はまだ記録されていません。
incident-parties = 関係者と連絡先
incident-no-parties = 関係者はまだ記録されていません。
member-line = { $name }（{ $role }）
observable-shared = 他のインシデントにも出現：
evidence-location = 保管場所：{ $location }
party-phone = 電話：
party-email = メール：
party-fallback = つながらない場合：

## Quick add
quick-title = 時系列に追加
quick-lane = レーン
quick-kind = 種別
quick-at = 日時
quick-at-hint = 空欄なら現在の日時になります。
quick-text = 出来事
quick-submit = 追加
quick-added = 時系列に追加しました。
quick-lane-required = レーンを選んでください。
quick-kind-required = 種別を選んでください。
quick-text-required = 出来事を書いてください。

## Timeline entry kinds
entry-kind-detection = 検知
entry-kind-analysis = 分析
entry-kind-containment = 封じ込め
entry-kind-communication = 連絡・広報
entry-kind-decision = 意思決定
entry-kind-recovery = 復旧
entry-kind-disclosure = 公表
entry-kind-other = その他

## Tasks
task-status-open = 未完了
task-status-done = 完了
task-status-skipped = 省略
task-due = 期限 { $at }

## Decisions
decision-decided = { $who } が { $at } に決定。
decision-decided-by = { $who } が決定。
decision-decide-by = 決定期限 { $at }
decision-chosen = 採用
decision-open = 未決定です。

## Custody
custody-collected = 収集
custody-transferred = 受け渡し
custody-analysed = 解析
custody-stored = 保管
custody-returned = 返却
custody-destroyed = 廃棄

## Parties
party-kind-internal = 社内
party-kind-vendor_forensics = フォレンジック事業者
party-kind-vendor_antivirus = ウイルス対策ベンダー
party-kind-vendor_edr = EDRベンダー
party-kind-mss = セキュリティ監視サービス
party-kind-hosting = ホスティング事業者
party-kind-jpcert = JPCERT/CC
party-kind-police = 警察
party-kind-ppc = 個人情報保護委員会
party-kind-regulator = 所管官庁
party-kind-nisc = NISC
party-kind-ipa = IPA
party-kind-customer = 顧客
party-kind-supplier = 取引先
party-kind-group_company = グループ会社
party-kind-other = その他

## Roles
role-admin = 管理者
role-incident_commander = インシデント指揮者
role-responder = 対応者
role-executive = 経営層
role-pr_legal = 広報・法務
role-business_unit = 事業部門
role-reporter = 報告者
role-external_responder = 外部の対応者

## Incident page forms
choose-one = 選択肢から選んでください。
triage-submit = 深刻度・フェーズ・カテゴリを保存
triage-stale = 編集中に他の人がこのインシデントを変更しました。現在は深刻度 { $severity }、フェーズ { $phase } です。あなたの選択は下に残してあります。もう一度保存すると、その変更に上書きして反映します。
playbook-title = プレイブック
playbook-submit = プレイブックを適用
playbook-already-applied = このプレイブックは適用済みです。タスクは下に表示されています。
decision-new-title = 意思決定を記録
decision-question = 決めるべきこと
decision-option = 選択肢 { $n }
decision-option-label = 行うこと
decision-option-scenario = 想定される結果
decision-chosen-field = すでに決定済みですか？
decision-chosen-none = まだ：未決定のままにする
decision-rationale = 理由
decision-submit = 意思決定を記録
decision-outcome-title = どの選択肢を採りましたか？
decision-outcome-submit = 決定を記録
decision-question-required = 決めるべきことを書いてください。
decision-label-required = この選択肢で行うことを書くか、想定される結果を消してください。
decision-two-options = 選択肢は2つ以上必要です。
decision-chosen-empty = 選んだ選択肢が空欄です。
decision-may-not-decide = あなたの役割では意思決定の提案はできますが、決定はできません。未決定のままにしてください。
decision-already-decided = 先に他の人が決定を記録しました。上に表示されています。
decision-scenario-required = この選択肢で想定される結果を書いてください。後で判断を振り返る手がかりになります。

## Lane owners, members, clocks, observables (incident page)
clock-mark-met = 「{ $clock }」を完了にする
clock-gone = その期限はもうありません。現在の期限を表示しています。
incident-lane-owners = レーン担当者
lane-no-owner = 担当者なし
lane-owner = 担当者
lane-owner-submit = 担当者を設定
team-change = レーン担当者とメンバーを変更
member-remove = 外す
member-remove-label = { $member } をこのインシデントから外す
member-add-label = メンバーを追加
member-add = メンバーを追加
observable-add-title = 観測情報（IoC）を追加
observable-kind = 種類
observable-value = 値
observable-note = メモ（任意）
observable-add = 観測情報を追加
observable-value-required = IPアドレスやドメインなど、観測した値を入力してください。
observable-kind-ip = IPアドレス
observable-kind-cidr = ネットワーク範囲（CIDR）
observable-kind-domain = ドメイン
observable-kind-url = URL
observable-kind-email = メールアドレス
observable-kind-hash = ファイルハッシュ
observable-kind-account = アカウント
observable-kind-file_name = ファイル名

## Two-step verification
mfa-required-note = あなたの役割では2段階認証が必須です。1分ほどで設定できます。
mfa-intro = 2段階認証では、サインインのたびにスマートフォンの認証アプリが表示する6桁のコードを入力します。パスワードが盗まれてもそれだけでは入れなくなります。
mfa-start = 認証アプリを設定する
mfa-scan = 認証アプリでQRコードを読み取ってください（または下のキーを手で入力）。
mfa-type-code = アプリに表示された6桁のコードを入力してください。
mfa-qr-alt = 認証アプリ用のQRコード
mfa-secret-text = 手入力用のキー：
mfa-code = アプリのコード
mfa-confirm = 2段階認証を有効にする
mfa-code-wrong = アプリの現在のコードではありません。スマートフォンの時刻が正しいか確認し、新しいコードが出てから入力し直してください。
mfa-done = 2段階認証を有効にしました。
mfa-recovery-title = リカバリーコード
mfa-recovery-text = スマートフォンをなくしたときに、各コードで1回だけサインインできます。今しか表示されないので、オフラインの安全な場所に保管してください。
mfa-continue = 続ける

## New incident
new-incident-title = 新規インシデント
new-incident-name = 件名
new-incident-title-required = 短い件名を付けてください。
new-incident-choose = 選んでください…
new-incident-category-with-playbook = { $category }（プレイブック：{ $playbook }）
new-incident-apply-playbook = このカテゴリのプレイブックをすぐに適用する
new-incident-severity-default = まだ分からない（最も低いレベル）
new-incident-source = 検知のきっかけ
new-incident-restricted = 関係者限定（メンバーだけが閲覧できる）
new-incident-submit = インシデントを登録
source-edr = EDR
source-ids = IDS / IPS
source-antivirus = ウイルス対策ソフト
source-monitoring = 監視（SOC）
source-hunting = 脅威ハンティング
source-user_report = 従業員からの報告
source-external_jpcert = JPCERT/CC などのCSIRT
source-external_customer = 顧客・取引先
source-external_media = 報道機関
source-external_police = 警察
source-external_other = その他の外部
source-unknown = 不明
task-note = 実施内容（任意）
task-mark-done = 完了
task-already-done = 先に他の人がこのタスクを完了にしました。下に表示されています。

## Enrolment (first password)
enrol-title = パスワードの設定
enrol-intro = 管理者があなたのアカウントを作成しました。パスワードを決めて登録を完了し、サインインしてください。
enrol-code = 登録コード
enrol-code-hint = リンクから自動で入力されます。空欄の場合は、リンクの「#」より後ろを貼り付けてください。
enrol-code-missing = 登録コードがありません。受け取ったリンクを開くか、「#」より後ろを貼り付けてください。
enrol-password = 新しいパスワード
enrol-password-hint = 12文字以上。関係のない単語をいくつか並べると、覚えやすく推測されにくくなります。
enrol-password-again = もう一度同じパスワード
enrol-passwords-differ = 2つのパスワードが一致しません。
enrol-password-weak = 推測されやすいパスワードです：{ $reason } リンクはまだ使えます。別のパスワードにしてください。
enrol-link-unknown = この登録リンクは無効か、使用済みか、期限切れです。管理者に新しいリンクを依頼してください。
enrol-submit = パスワードを設定
enrol-done-title = パスワードを設定しました
enrol-done-text = パスワードを設定しました。メールアドレスと新しいパスワードでサインインしてください。

## Administration
nav-admin = ユーザー
admin-users-title = ユーザーと役割
admin-saved = 保存しました。
admin-person = ユーザー
admin-role = 役割
admin-mfa = 2段階認証
admin-state = アカウント
admin-save-role = 役割を保存
admin-mfa-on = 有効
admin-mfa-off = 無効
admin-reset-mfa = リセット（サインアウトさせる）
admin-active = 有効
admin-inactive = 無効化済み
admin-deactivate = 無効にする
admin-activate = 有効に戻す
admin-add-title = ユーザーを追加
admin-name = 氏名
admin-add-submit = 追加して登録リンクを作成
admin-created = { $email } を追加しました。このリンクを信頼できる経路で渡してください（1回限り・72時間有効で、再表示されません）：
admin-email-taken = このメールアドレスは既に使われています。

## Administration: playbooks and tokens

nav-admin-playbooks = プレイブック
admin-playbooks-title = プレイブック
admin-playbook-id = ID
admin-playbook-title-col = プレイブック
admin-playbook-category = 分類
admin-playbook-version = 版
admin-playbook-origin = 出どころ
admin-playbook-builtin = Kizuki に組み込み
admin-playbook-folder = サーバーのプレイブックフォルダー
admin-playbook-uploaded = { $at } に { $name } がアップロード
admin-playbook-someone = 削除済みのアカウント
admin-playbook-upload-title = 新しい版をアップロード
admin-playbook-upload-help = プレイブックを YAML で貼り付けてください。「検証」は保存せずに確認します。「新しい版として保存」すると、以後このプレイブックを適用するときに使われます。版は使用中の版より大きくしてください。
admin-playbook-source = プレイブック（YAML）
admin-playbook-validate = 検証
admin-playbook-save = 新しい版として保存
admin-playbook-errors = 直すべき問題が { $count } 件あります（行と項目を示します）：
admin-playbook-error-line = { $line } 行目・{ $field }：{ $message }
admin-playbook-whole = ファイル全体
admin-playbook-valid = 問題はありません：{ $id } 第{ $version }版、タスク { $tasks } 件。まだ保存していません。
admin-playbook-not-higher = { $id } は第{ $current }版を使用中です。第{ $next }版以上にしてください。
admin-playbook-empty = まずプレイブックを貼り付けてください。
admin-playbook-too-large = プレイブックは 256 KiB 以内にしてください。
admin-playbook-saved = 保存しました。第{ $version }版を使用中です。
admin-playbook-phase = フェーズ
admin-playbook-task = タスク
admin-playbook-due = 期限
admin-playbook-due-start = 1日目の始まりから { $offset } 後
admin-playbook-due-applied = プレイブック適用から { $offset } 後
admin-playbook-no-due = 期限なし
admin-playbook-source-title = ソース
admin-playbook-source-unknown = このプレイブックはサーバーのプレイブックフォルダーから読み込まれました。ファイルはそこにあります。
nav-admin-tokens = 全員のトークン
nav-tokens = 自分の API トークン
tokens-title = 自分の API トークン
admin-tokens-title = 全員の API トークン
token-name = 名前
token-owner = 持ち主
token-access = 権限
token-access-read = 読み取りのみ
token-access-write = 読み書き
token-resources = 対象
token-created = 作成日時
token-expires = 失効日時
token-never = なし
token-state = 状態
token-revoke = 無効にする
token-revoked = トークンを無効にしました。今後は使えません。
token-revoked-at = { $at } に無効化
token-new-title = トークンを作成
token-days = 有効日数（1〜365）
token-create = トークンを作成
token-secret-once = このトークンを今すぐ控えてください。表示はこの一度きりで、Kizuki には照合用の値しか残りません。パスワードと同じように扱ってください。
token-name-invalid = トークンに名前を付けてください（200文字以内）。
token-days-invalid = 日数は1〜365の整数で指定してください。
token-resources-invalid = 対象を1つ以上選んでください。
# 受領確認リンク（/ack/…）
ack-title = 通知の受領確認
ack-about = この通知は次のインシデントについてのものです。
ack-explain = 内容を確認したら、ボタンを押してください。だれかが確認すると、次の担当者へのエスカレーションは止まります。
ack-confirm = 確認しました
ack-done = ありがとうございます。受領確認を記録しました。
ack-already = この通知はすでに受領確認されています。
ack-by-at = { $at } に { $who } が確認しました。
ack-someone = どなたか
ack-next = インシデントの内容を見て対応に加わるには、Kizuki にサインインしてください。
ack-expired-title = このリンクは有効期限切れです
ack-expired-text = 受領確認リンクの有効期間は7日間です。Kizuki にサインインして、インシデントの画面から確認してください。
ack-invalid-title = このリンクは無効です
ack-invalid-text = リンクが途中で切れているか、書き換えられています。通知のメッセージからもう一度開くか、Kizuki にサインインしてインシデントの画面から確認してください。
# インシデント画面の通知と電話連絡網
notifications-title = 通知
notifications-none = このインシデントについて、まだだれにも通知していません。
notification-error = エラー：{ $error }
notification-ack = 受領を確認
notification-ack-label = { $recipient } 宛ての通知を受領済みにする
notification-ack-not-yours = 受領確認できるのは、自分宛ての通知だけです。インシデント指揮者はすべての通知を確認できます。
notification-state-pending = 送信待ち
notification-state-sent = 送信済み
notification-state-failed = 失敗
notification-state-acknowledged = 受領確認済み
channel-email = メール
channel-phone-tree = 電話連絡網
channel-webhook = Webhook { $name }
phone-tree-title = 電話連絡網
phone-tree-none = このインシデントの連絡リストにはだれもいません。
phone-tree-explain = 一人ずつ電話をかけ、結果を記録してください。記録した電話はタイムラインにも残ります。
phone-tree-not-called = まだ電話していません。
call-line = { $at }：{ $outcome }（{ $who }）
call-outcome = 結果
call-note = メモ
call-submit = { $recipient } への電話を記録
call-stale = たった今、ほかの人がこの相手への電話を記録しました。上の一覧を確認し、必要ならもう一度記録してください。
call-outcome-reached = つながった
call-outcome-voicemail = 留守電に伝言
call-outcome-no_answer = 応答なし
call-outcome-wrong_number = 番号違い
# 当番
oncall-title = 現在の当番
oncall-until = { $at } まで
oncall-no-handover = 交代の予定なし
oncall-nobody = 現在は不在
oncall-covering = 代理
oncall-unknown-user = ユーザー #{ $id }
# 通知の管理（/admin/notify）
nav-admin-notify = 通知
admin-notify-title = 通知
admin-notify-sections = このページの項目
admin-notify-saved = 保存しました。
admin-notify-back = 通知の管理に戻る
admin-notify-templates = メッセージのひな形
admin-notify-template-changed-tag = 変更あり
admin-notify-rotations = 当番表
admin-notify-no-rotations = 当番表はまだありません。
admin-notify-members = メンバー：{ $members }
admin-notify-now = 現在の当番：{ $who }
admin-notify-rotation-schedule = { $period }交代、交代時刻 { $handover }（{ $zone }）、{ $start } から
admin-notify-period = 交代の単位
admin-notify-period-daily = 毎日
admin-notify-period-weekly = 毎週
admin-notify-period-days = 数日ごと
admin-notify-override-line = { $from } から { $to } まで { $who } が代理
admin-notify-add-override = 代理を追加
admin-notify-override-who = 代理の人
admin-notify-override-from = 開始
admin-notify-override-to = 終了
admin-notify-override-order = 終了は開始より後にしてください。
admin-notify-new-rotation = 当番表を作成
admin-notify-name = 名前
admin-notify-rotation-members = メンバー（当番の順）
admin-notify-handover = 交代時刻
admin-notify-start = 最初の当番の開始日
admin-notify-zone = タイムゾーン
admin-notify-create-rotation = 当番表を作成
admin-notify-bad-time = 09:00 のように時刻を入力してください。
admin-notify-bad-date = 2026-06-01 のように日付を入力してください。
admin-notify-rules = 通知ルール
admin-notify-no-rules = ルールはまだありません。新しいインシデントは、ルールがなくても当番に届きます。
admin-notify-any-category = すべての種別
admin-notify-rule-summary = レベル { $level } 以上、{ $categories }：{ $recipients } に { $channels } で通知
admin-notify-disabled = 無効
admin-notify-delete = 削除
admin-notify-delete-label = { $name } を削除
admin-notify-in-use = ルールまたはエスカレーションの段階がまだこれを使っているため、削除しませんでした。先にそちらを変更してください。
admin-notify-rule-stale = たった今、ほかの人がこのルールを変更しました。内容を確認してから削除してください。
admin-notify-new-rule = ルールを作成
admin-notify-min-level = 対象レベル（以上）
admin-notify-recipient = 通知先
admin-notify-on-call-of = { $rotation } の当番
admin-notify-template-kind = メッセージ
admin-notify-channels = 通知手段
admin-notify-categories = 種別（何も選ばなければすべての種別）
admin-notify-on-reports = トリアージ前の不審報告にも通知する
admin-notify-create-rule = ルールを作成
admin-notify-webhooks = Webhook の送信先
admin-notify-no-webhooks = Webhook の送信先はまだありません。
admin-notify-new-webhook = Webhook の送信先を追加
admin-notify-format = 形式
admin-notify-url = 送信先の URL
admin-notify-secret = 署名用シークレット
admin-notify-secret-hint = 署名付き JSON 形式のときだけ使います。16文字以上で入力するか、空欄にすると Kizuki が作成して一度だけ表示します。
admin-notify-name-required = 名前を入力してください（200文字以内）。
admin-notify-name-taken = その名前はすでに使われています。
admin-notify-create-webhook = 送信先を追加
admin-notify-template-title = メッセージのひな形
admin-notify-template-built-in = これは組み込みの文面です。保存すると、あなたの文面が代わりに使われます。
admin-notify-template-changed = 管理者が変更した文面です。「組み込みの文面に戻す」で元に戻せます。
admin-notify-template-fields = 使える項目：
admin-notify-template-subject = 件名
admin-notify-template-body = 本文
admin-notify-preview = プレビュー
admin-notify-preview-title = サンプルの内容でのプレビュー（保存はしていません）：
admin-notify-save = 保存
admin-notify-reset = 組み込みの文面に戻す
admin-notify-template-stale = 編集中に、ほかの人がこのひな形を保存しました。入力した文面は下に残してあります。置き換える場合は、もう一度保存してください。
admin-notify-template-too-long = 件名は300文字以内、本文は20,000文字以内にしてください。
template-kind-new_incident = 新しいインシデント
template-kind-escalation = エスカレーション
template-kind-clock_due_soon = 法定期限が近い
template-kind-clock_overdue = 法定期限の超過
template-kind-action_reminder = 是正措置のリマインダー
template-error-at = { $line } 行 { $column } 文字目：{ $problem }
template-unknown-field = 「{ $name }」という項目はありません
template-not-available = 項目「{ $name }」は、この種類のメッセージでは使えません
template-unclosed = 「{"{{"}」が同じ行の「{"}}"}」で閉じられていません
template-empty-field = 「{"{{}}"}」に項目名がありません
template-stray-close = 「{"}}"}」に対応する「{"{{"}」がありません
template-subject-line-break = 件名は1行にしてください
admin-notify-secret-once = Webhook の送信先を追加しました。署名用シークレットは { $secret } です。今すぐ受信側に設定してください。この表示は一度きりです。
