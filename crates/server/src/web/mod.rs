//! The web UI, rendered on the server. Every flow works with plain HTML forms and no script: a form posts,
//! the server acts through `app`, then redirects (303) to the page that shows the result, or shows the form
//! again with the error next to the field at fault. The only assets are a stylesheet and a favicon compiled
//! into the binary.
//!
//! Pages ask `app::policy` what to offer (a form, a button); `app` decides what is allowed.

mod account;
mod admin;
mod api_reference;
pub mod assets;
mod auth;
mod chart;
mod clearinghouse;
mod dashboard;
mod evals;
mod event_names;
mod finding_life;
mod form;
mod gateway;
mod ledger;
mod notice_edit;
mod notices;
mod notifications;
mod orgs;
mod render;
mod session;
mod timeline;
mod tokens;
mod usage;
mod view;
mod webhooks;
mod work;

use app::App;
use axum::Router;
use axum::routing::{get, post};

pub use ledger::receipt_disposition;
pub use session::{CSRF_COOKIE, WebCaller};

pub fn routes() -> Router<App> {
    Router::new()
        .merge(assets::routes())
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/setup/{token}", get(auth::setup_form).post(auth::setup))
        .route(
            "/invitations/{token}",
            get(auth::invitation_form).post(auth::accept_invitation),
        )
        .route(
            "/password-reset",
            get(account::reset_request_form).post(account::request_reset),
        )
        .route(
            "/password-reset/{token}",
            get(account::reset_form).post(account::reset),
        )
        .route("/account", get(account::account))
        .route("/account/password", post(account::change_password))
        .route("/account/sessions/{id}/end", post(account::end_session))
        .route("/account/sessions/end-others", post(account::end_other_sessions))
        .route("/", get(dashboard::dashboard))
        .route("/notices", get(notices::list).post(notices::file))
        .route("/notices/new", get(notices::new_form))
        .route("/notices/{id}", get(notices::detail))
        .route(
            "/notices/{id}/edit",
            get(notice_edit::edit_form).post(notice_edit::edit),
        )
        .route("/notices/{id}/launch", post(notices::move_launch))
        .route("/notices/{id}/launch-now", post(notices::launch_now))
        .route("/notices/{id}/withdraw", post(notices::withdraw))
        .route("/notices/{id}/assignments", post(notices::assign))
        .route(
            "/notices/{id}/assignments/{user_id}/remove",
            post(notices::unassign),
        )
        .route("/notices/{id}/findings", post(work::file_finding))
        .route("/notices/{id}/assessments", post(work::publish_assessment))
        .route("/notices/{id}/eval-runs", get(evals::runs).post(evals::start))
        .route("/eval-runs/{id}", get(evals::run))
        .route("/eval-runs/{id}/cancel", post(evals::cancel))
        .route("/eval-runs/{id}/compare", get(evals::compare_with))
        .route("/eval-runs/{id}/compare/{other}", get(evals::compare))
        .route("/eval-runs/{id}/samples/{sample}/{epoch}", get(evals::sample))
        .route(
            "/notices/{id}/connections",
            get(gateway::connections).post(gateway::create_connection),
        )
        .route(
            "/notices/{id}/connections/{connection}",
            get(gateway::connection).post(gateway::update_connection),
        )
        .route(
            "/notices/{id}/connections/{connection}/test",
            post(gateway::test_connection),
        )
        .route(
            "/notices/{id}/connections/{connection}/delete",
            post(gateway::delete_connection),
        )
        .route(
            "/notices/{id}/gateway-tokens",
            get(gateway::tokens).post(gateway::create_token),
        )
        .route(
            "/notices/{id}/gateway-tokens/{token}/revoke",
            post(gateway::revoke_token),
        )
        .route("/notices/{id}/gateway-usage", get(usage::usage))
        .route("/findings/{id}", get(finding_life::finding))
        .route("/findings/{id}/status", post(finding_life::set_status))
        .route("/findings/{id}/responses", post(finding_life::respond))
        .route("/findings/{id}/share", post(finding_life::share))
        .route(
            "/findings/{id}/edit",
            get(finding_life::edit_form).post(finding_life::edit),
        )
        .route(
            "/assessments/{id}/publish",
            post(finding_life::publish_assessment),
        )
        .route("/gateway-calls/{id}", get(finding_life::gateway_call))
        .route("/assessments/{id}", get(work::assessment))
        .route("/organizations", get(orgs::organizations).post(orgs::create))
        .route("/organizations/{id}", get(orgs::organization))
        .route("/organizations/{id}/active", post(orgs::set_org_active))
        .route("/organizations/{id}/invitations", post(orgs::invite))
        .route(
            "/organizations/{id}/invitations/{invitation}/revoke",
            post(orgs::revoke_invitation),
        )
        .route(
            "/organizations/{id}/invitations/{invitation}/resend",
            post(orgs::resend_invitation),
        )
        .route("/people/{id}/active", post(orgs::set_person_active))
        .route("/people/{id}/role", post(orgs::set_person_role))
        .route("/tokens", get(tokens::tokens).post(tokens::create))
        .route("/tokens/{id}/revoke", post(tokens::revoke))
        .route("/notifications", get(notifications::list))
        .route("/notifications/read-all", post(notifications::read_all))
        .route(
            "/notifications/preferences",
            get(notifications::preferences).post(notifications::set_preferences),
        )
        .route("/notifications/{id}/read", post(notifications::read))
        .route("/webhooks", get(webhooks::list).post(webhooks::create))
        .route("/webhooks/{id}", get(webhooks::detail))
        .route("/webhooks/{id}/enabled", post(webhooks::set_enabled))
        .route("/webhooks/{id}/test", post(webhooks::test))
        .route("/webhooks/{id}/delete", post(webhooks::delete))
        .route("/policy", get(admin::policy_form).post(admin::set_policy))
        .route("/audit", get(admin::audit))
        .route("/audit.csv", get(admin::audit_csv))
        .route("/jobs", get(admin::failed_jobs))
        .route("/jobs/{id}/retry", post(admin::retry_job))
        .route("/reports", post(clearinghouse::reports::file))
        .route("/reports/new", get(clearinghouse::reports::new_form))
        .route("/reports/{id}", get(clearinghouse::reports::detail))
        .route("/cases/{id}", get(clearinghouse::cases::detail))
        .route(
            "/cases/{id}/transition",
            post(clearinghouse::case_actions::transition),
        )
        .route(
            "/cases/{id}/participants",
            post(clearinghouse::case_actions::add_participant),
        )
        .route("/cases/{id}/posts", post(clearinghouse::case_actions::post))
        .route("/cases/{id}/status", post(clearinghouse::case_actions::status))
        .route("/cases/{id}/embargo", post(clearinghouse::case_actions::embargo))
        .route("/cases/{id}/merge", post(clearinghouse::case_actions::merge))
        .route("/cases/{id}/split", post(clearinghouse::case_actions::split))
        .route("/triage", get(clearinghouse::triage::queue))
        .route("/triage/{id}", post(clearinghouse::triage::decide))
        .route("/inbox", get(clearinghouse::inbox::inbox))
        .route("/advisories", get(clearinghouse::advisories::list))
        .route("/advisories/{id}", get(clearinghouse::advisories::detail))
        .route(
            "/subscriptions",
            get(clearinghouse::settings::subscriptions).post(clearinghouse::settings::subscribe),
        )
        .route(
            "/subscriptions/{id}/delete",
            post(clearinghouse::settings::unsubscribe),
        )
        .route(
            "/vendor-policy",
            get(clearinghouse::settings::vendor_policy).post(clearinghouse::settings::set_vendor_policy),
        )
        .route("/clearinghouse/metrics", get(clearinghouse::metrics::metrics))
        .route("/api-reference", get(api_reference::page))
        .route("/ledger", get(ledger::overview))
        .route("/ledger/objects/{id}", get(ledger::object))
        .route("/ledger/events/{id}", get(ledger::event))
        .route("/ledger/events/{id}/receipt", get(ledger::receipt))
        .fallback(auth::not_found)
}
