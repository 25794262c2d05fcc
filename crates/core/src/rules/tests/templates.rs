//! Placeholders: checked at save time, rendered at fire time.

use super::*;

#[test]
fn every_placeholder_renders() {
    let data = TemplateData { subject: "Refund".to_owned(), customer_name: "Grace".to_owned() };
    let text = "{{ticket.id}}|{{ ticket.subject }}|{{customer.name}}|{{ticket.status}}|{{ticket.priority}}";
    assert_eq!(check_template(text), Ok(()));
    let pending = TicketSnapshot { status: Status::OnHold, priority: Level::High, ..ticket() };
    assert_eq!(render(text, &pending, &data), "1234|Refund|Grace|on_hold|high");
    assert_eq!(PLACEHOLDERS.len(), 5);
}

#[test]
fn plain_text_and_stray_braces_pass_through() {
    let data = TemplateData::default();
    for text in ["No placeholders", "a } b }} c", "ünïcödé {{ticket.id}} ✓", ""] {
        assert_eq!(check_template(text), Ok(()), "{text}");
    }
    assert_eq!(render("a }} b {{ticket.id}}!", &ticket(), &data), "a }} b 1234!");
    assert_eq!(render("ünïcödé {{ticket.id}} ✓", &ticket(), &data), "ünïcödé 1234 ✓");
}

#[test]
fn bad_templates_are_refused_with_a_reason() {
    let unknown = check_template("Dear {{customer.email}}").unwrap_err();
    assert!(unknown.contains("{{customer.email}}") && unknown.contains("{{customer.name}}"), "{unknown}");
    let open = check_template("Dear {{customer.name}}, {{ticket.id").unwrap_err();
    assert!(open.contains("not closed"), "{open}");
    // Unchecked templates still render, leaving bad parts as written.
    assert_eq!(render("x {{nope}} {{ticket.id", &ticket(), &TemplateData::default()), "x {{nope}} {{ticket.id");
}
