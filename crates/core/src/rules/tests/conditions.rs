//! Conditions of every field and operator, through `conditions_hold`.

use super::*;

/// Whether one condition holds for the ticket.
fn holds(ticket: &TicketSnapshot, field: Field, op: Op, value: ConditionValue) -> bool {
    let mut tested = rule("r", on("created"), vec![notify()]);
    tested.conditions = vec![condition(field, op, value)];
    assert_eq!(validate(&tested, &known()), Ok(()), "{:?}", tested.conditions);
    conditions_hold(&tested, ticket)
}

#[test]
fn status_words() {
    let ticket = ticket();
    assert!(holds(&ticket, Field::Status, Op::Is, word("open")));
    assert!(!holds(&ticket, Field::Status, Op::IsNot, word("open")));
    assert!(holds(&ticket, Field::Status, Op::In, words(&["new", "open"])));
    assert!(!holds(&ticket, Field::Status, Op::NotIn, words(&["new", "open"])));
    assert!(holds(&ticket, Field::Status, Op::NotIn, words(&["on_hold", "solved"])));
}

#[test]
fn levels_are_ordered() {
    let mut ticket = ticket();
    ticket.priority = Level::High;
    ticket.urgency = Level::Low;
    assert!(holds(&ticket, Field::Priority, Op::Is, word("high")));
    assert!(holds(&ticket, Field::Priority, Op::AtLeast, word("high")));
    assert!(holds(&ticket, Field::Priority, Op::AtLeast, word("normal")));
    assert!(!holds(&ticket, Field::Priority, Op::AtLeast, word("urgent")));
    assert!(holds(&ticket, Field::Priority, Op::AtMost, word("high")));
    assert!(!holds(&ticket, Field::Priority, Op::AtMost, word("normal")));
    assert!(holds(&ticket, Field::Priority, Op::NotIn, words(&["low", "urgent"])));
    assert!(holds(&ticket, Field::Urgency, Op::In, words(&["low"])));
    assert!(holds(&ticket, Field::Urgency, Op::IsNot, word("high")));
    assert!(!holds(&ticket, Field::Urgency, Op::AtLeast, word("normal")));
}

#[test]
fn channels() {
    let ticket = ticket();
    assert!(holds(&ticket, Field::Channel, Op::Is, word("email")));
    assert!(holds(&ticket, Field::Channel, Op::IsNot, word("api")));
    assert!(holds(&ticket, Field::Channel, Op::In, words(&["chat", "email"])));
    assert!(!holds(&ticket, Field::Channel, Op::NotIn, words(&["email"])));
}

#[test]
fn team_and_owner_by_id_none_or_any() {
    let owned = ticket();
    let mut unowned = ticket();
    unowned.owner = None;
    unowned.team = None;
    assert!(holds(&owned, Field::Team, Op::Is, ConditionValue::Number(1)));
    assert!(!holds(&owned, Field::Team, Op::IsNot, ConditionValue::Number(1)));
    assert!(holds(&owned, Field::Team, Op::In, ConditionValue::Numbers(vec![2, 1])));
    assert!(holds(&owned, Field::Team, Op::NotIn, ConditionValue::Numbers(vec![2, 3])));
    assert!(!holds(&unowned, Field::Team, Op::In, ConditionValue::Numbers(vec![1])));
    assert!(holds(&unowned, Field::Team, Op::NotIn, ConditionValue::Numbers(vec![1])));
    assert!(holds(&unowned, Field::Team, Op::Is, word("none")));
    assert!(holds(&owned, Field::Owner, Op::Is, word("any")));
    assert!(!holds(&unowned, Field::Owner, Op::Is, word("any")));
    assert!(holds(&unowned, Field::Owner, Op::Is, word("none")));
    assert!(holds(&owned, Field::Owner, Op::IsNot, word("none")));
    assert!(holds(&owned, Field::Owner, Op::Is, ConditionValue::Number(10)));
    assert!(holds(&owned, Field::Owner, Op::NotIn, ConditionValue::Numbers(vec![11])));
}

#[test]
fn tiers_and_tags() {
    let mut ticket = ticket();
    ticket.tier = Tier("premium".to_owned());
    ticket.tags = vec!["billing".to_owned(), "vip".to_owned()];
    assert!(holds(&ticket, Field::Tier, Op::Is, word("premium")));
    assert!(holds(&ticket, Field::Tier, Op::IsNot, word("basic")));
    assert!(holds(&ticket, Field::Tier, Op::In, words(&["business", "premium"])));
    assert!(!holds(&ticket, Field::Tier, Op::NotIn, words(&["premium"])));
    assert!(holds(&ticket, Field::Tags, Op::Contains, word("vip")));
    assert!(holds(&ticket, Field::Tags, Op::Contains, words(&["legal", "vip"])));
    assert!(!holds(&ticket, Field::Tags, Op::Contains, word("legal")));
    assert!(holds(&ticket, Field::Tags, Op::NotContains, words(&["legal", "spam"])));
    assert!(!holds(&ticket, Field::Tags, Op::NotContains, word("billing")));
}

#[test]
fn numbers() {
    let mut ticket = ticket();
    ticket.escalation_level = 2;
    ticket.counters = Counters { reopens: 3, transfers: 1, messages: 12, customer_messages: 7 };
    let n = ConditionValue::Number;
    assert!(holds(&ticket, Field::EscalationLevel, Op::Is, n(2)));
    assert!(holds(&ticket, Field::EscalationLevel, Op::AtMost, n(2)));
    assert!(!holds(&ticket, Field::EscalationLevel, Op::AtLeast, n(3)));
    assert!(holds(&ticket, Field::Reopens, Op::AtLeast, n(3)));
    assert!(!holds(&ticket, Field::Reopens, Op::IsNot, n(3)));
    assert!(holds(&ticket, Field::Transfers, Op::IsNot, n(0)));
    assert!(holds(&ticket, Field::Messages, Op::AtMost, n(12)));
    assert!(!holds(&ticket, Field::Messages, Op::AtMost, n(11)));
    assert!(holds(&ticket, Field::CustomerMessages, Op::AtLeast, n(7)));
}

#[test]
fn all_conditions_must_hold() {
    let mut both = rule("r", on("created"), vec![notify()]);
    both.conditions =
        vec![condition(Field::Status, Op::Is, word("open")), condition(Field::Priority, Op::AtLeast, word("urgent"))];
    assert!(!conditions_hold(&both, &ticket()));
    both.conditions.pop();
    assert!(conditions_hold(&both, &ticket()));
    both.conditions.clear();
    assert!(conditions_hold(&both, &ticket()), "no conditions always hold");
    // A condition that does not compile never holds.
    both.conditions = vec![condition(Field::Status, Op::Is, word("asleep"))];
    assert!(!conditions_hold(&both, &ticket()));
}
