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
mfa-enrol-title = 2段階認証の設定が必要です
mfa-enrol-text = あなたのロールでは、先に2段階認証を設定する必要があります。まず認証アプリを登録してください。分からない場合は管理者にご相談ください。

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
