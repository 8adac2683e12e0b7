//! Row parsing: both formats, line-numbered errors, and no value in any message.

use super::*;

fn platforms() -> BTreeMap<String, ProviderKind> {
    [
        ("tiktok", ProviderKind::Tiktok),
        ("reddit", ProviderKind::Reddit),
        ("ig", ProviderKind::Instagram),
    ]
    .iter()
    .map(|(name, kind)| ((*name).to_owned(), *kind))
    .collect()
}

#[test]
fn only_an_instagram_row_may_leave_out_its_refresh_token() {
    let parsed = parse(
        r#"{"userId":"u1","platform":"ig","accessToken":"IG-LONG-LIVED","expiresAt":1}
{"userId":"u2","platform":"tiktok","accessToken":"AT","expiresAt":1}
{"userId":"u3","platform":"ig","accessToken":"IG-2","refreshToken":"IG-2","expiresAt":1}"#,
        &platforms(),
    )
    .unwrap();
    assert_eq!(parsed.rows.len(), 2, "{:?}", parsed.errors);
    assert_eq!(parsed.rows[0].refresh_token, None);
    assert!(parsed.rows[1].refresh_token.is_some(), "given, it is kept");
    assert_eq!(
        parsed.errors[0].to_string(),
        "line 2: `refreshToken`: is missing (only an Instagram provider's rows may leave it out)"
    );
}

const JSONL: &str = r#"{"userId":"u1","platform":"tiktok","accessToken":"AT-SECRET-1","refreshToken":"RT-SECRET-1","expiresAt":1700000000}

{"userId":"u2","platform":"reddit","accessToken":"AT-SECRET-2","refreshToken":"RT-SECRET-2","expiresAt":"1700000100","refreshExpiresAt":1800000000,"status":"needs_reauth"}
{"userId":"u3","platform":"myspace","accessToken":"AT-SECRET-3","refreshToken":"RT-SECRET-3","expiresAt":1}
{"userId":"u4","platform":"tiktok","accessToken":"AT-SECRET-4","expiresAt":1}
{"userId":"u5","platform":"tiktok","accessToken":"AT-SECRET-5","refreshToken":"RT-SECRET-5","expiresAt":"soon-AT-SECRET-5"}
{"userId":"u6", "accessToken": "AT-SECRET-6
["AT-SECRET-7"]
{"userId":"u1","platform":"tiktok","accessToken":"AT-SECRET-8","refreshToken":"RT-SECRET-8","expiresAt":1}
{"userId":"u9","platform":"tiktok","accessToken":"AT-SECRET-9","refreshToken":"RT-SECRET-9","expiresAt":1,"status":"AT-SECRET-9"}
"#;

#[test]
fn json_lines_good_and_bad_rows() {
    let parsed = parse(JSONL, &platforms()).unwrap();
    assert_eq!(parsed.rows.len(), 2);
    let u2 = &parsed.rows[1];
    assert_eq!((u2.line, u2.user_id.as_str()), (3, "u2"));
    assert_eq!(u2.expires_at, 1_700_000_100);
    assert_eq!(u2.refresh_expires_at, Some(1_800_000_000));
    assert_eq!(u2.status, TokenStatus::NeedsReauth);
    assert_eq!(u2.access_token.expose(), "AT-SECRET-2");
    assert_eq!(parsed.rows[0].status, TokenStatus::Active);
    let shown: Vec<String> = parsed.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "line 4: `platform`: is not a provider of this stage (one of ig, reddit, tiktok)",
            "line 5: `refreshToken`: is missing (only an Instagram provider's rows may leave it out)",
            "line 6: `expiresAt`: is not a whole number of epoch seconds",
            "line 7: is not valid JSON (column 43)",
            "line 8: is not a JSON object",
            "line 9: the same userId and platform as line 1",
            "line 10: `status`: is not one of active, needs_reauth, inactive",
        ]
    );
    assert!(!format!("{parsed:?}").contains("SECRET"));
}

#[test]
fn csv_with_header_quotes_and_bad_rows() {
    let text = "userId,platform,accessToken,refreshToken,expiresAt,status\n\
                u1,tiktok,\"AT,SECRET\",RT-SECRET,1700000000,\n\
                u2,reddit,AT-SECRET,RT-SECRET,-5,active\n\
                u3,reddit,AT-SECRET,RT-SECRET\n\
                u4,reddit,,RT-SECRET,1,active\n\
                u5,reddit,\"AT-SECRET,RT-SECRET,1,active\n";
    let parsed = parse(text, &platforms()).unwrap();
    assert_eq!(parsed.rows.len(), 1);
    assert_eq!(parsed.rows[0].access_token.expose(), "AT,SECRET");
    assert_eq!(parsed.rows[0].status, TokenStatus::Active);
    let shown: Vec<String> = parsed.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "line 3: `expiresAt`: is not a whole number of epoch seconds",
            "line 4: has 4 fields, the header 6",
            "line 5: `accessToken`: is missing",
            "line 6: field 3 has no closing quote",
        ]
    );
}

#[test]
fn unknown_columns_and_fields_are_named() {
    let err = parse("userId,platform,acessToken\n", &platforms()).unwrap_err();
    assert!(
        err.starts_with("line 1: unknown column `acessToken`"),
        "{err}"
    );
    let parsed = parse(
        r#"{"userId":"u","platform":"tiktok","token":"x","accessToken":"a","refreshToken":"r","expiresAt":1}"#,
        &platforms(),
    )
    .unwrap();
    assert_eq!(
        parsed.errors[0].to_string(),
        "line 1: `token`: is not a field of a token item"
    );
    assert!(parse("\n\n", &platforms()).unwrap().rows.is_empty());
}
