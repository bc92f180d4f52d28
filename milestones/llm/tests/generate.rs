//! Generation with the real model: answers, streaming, sampling, limits, budget.

mod common;

use roadmap_llm::chat::fit_pieces;
use roadmap_llm::{
    ChatMessage, FinishReason, GenParams, LlmError, LoadOptions, LocalLlm, WeightFormat,
};

fn capital() -> Vec<ChatMessage> {
    vec![ChatMessage::user("What is the capital of France?")]
}

#[test]
fn greedy_chatml_answer_names_paris() {
    let mut llm = common::shared_llm().lock().unwrap();
    let g = llm
        .chat(
            &capital(),
            &GenParams {
                max_tokens: 32,
                ..Default::default()
            },
            |_| true,
        )
        .unwrap();
    assert!(g.text.contains("Paris"), "answer: {:?}", g.text);
    assert_eq!(
        g.finish_reason,
        FinishReason::Stop,
        "should stop on <|im_end|>"
    );
    assert_eq!(
        g.prompt_tokens,
        llm.count_prompt_tokens(&capital()).unwrap()
    );
}

#[test]
fn as_shipped_q4_1_weights_answer_paris_too() {
    let llm = LocalLlm::load(
        &common::model_dir(),
        &LoadOptions {
            format: WeightFormat::AsShipped,
            max_ctx: 256,
        },
    );
    let mut llm = llm.unwrap();
    let g = llm
        .chat(
            &capital(),
            &GenParams {
                max_tokens: 16,
                ..Default::default()
            },
            |_| true,
        )
        .unwrap();
    assert!(g.text.contains("Paris"), "answer: {:?}", g.text);
}

#[test]
fn streamed_pieces_add_up_to_the_answer() {
    let mut llm = common::shared_llm().lock().unwrap();
    let mut pieces = Vec::new();
    let g = llm
        .chat(
            &capital(),
            &GenParams {
                max_tokens: 32,
                ..Default::default()
            },
            |p| {
                pieces.push(p.to_string());
                true
            },
        )
        .unwrap();
    assert!(pieces.len() > 3, "expected several pieces, got {pieces:?}");
    assert_eq!(pieces.concat(), g.text);
}

#[test]
fn callback_can_stop_generation() {
    let mut llm = common::shared_llm().lock().unwrap();
    let mut calls = 0;
    let g = llm
        .chat(
            &capital(),
            &GenParams {
                max_tokens: 64,
                ..Default::default()
            },
            |_| {
                calls += 1;
                calls < 2
            },
        )
        .unwrap();
    assert_eq!(calls, 2);
    assert!(g.tokens.len() <= 3, "{:?}", g.tokens);
}

#[test]
fn max_tokens_ends_with_length() {
    let mut llm = common::shared_llm().lock().unwrap();
    let msgs = [ChatMessage::user("Write a long story about a dragon.")];
    let g = llm
        .chat(
            &msgs,
            &GenParams {
                max_tokens: 5,
                ..Default::default()
            },
            |_| true,
        )
        .unwrap();
    assert_eq!(g.tokens.len(), 5);
    assert_eq!(g.finish_reason, FinishReason::Length);
}

#[test]
fn sampling_is_reproducible_per_seed() {
    let mut llm = common::shared_llm().lock().unwrap();
    let msgs = [ChatMessage::user("Name a colour.")];
    let p = |seed| GenParams {
        max_tokens: 12,
        temperature: 1.2,
        top_p: Some(0.95),
        seed,
    };
    let a = llm.chat(&msgs, &p(7), |_| true).unwrap().tokens;
    let b = llm.chat(&msgs, &p(7), |_| true).unwrap().tokens;
    assert_eq!(a, b, "same seed, same tokens");
    let others: Vec<_> = (1..6)
        .map(|s| llm.chat(&msgs, &p(100 + s), |_| true).unwrap().tokens)
        .collect();
    assert!(
        others.iter().any(|o| *o != a),
        "five other seeds all gave {a:?}"
    );
}

#[test]
fn bad_parameters_are_rejected() {
    let mut llm = common::shared_llm().lock().unwrap();
    let bad = GenParams {
        temperature: -1.0,
        ..Default::default()
    };
    assert!(matches!(
        llm.chat(&capital(), &bad, |_| true),
        Err(LlmError::BadRequest(_))
    ));
    let bad = GenParams {
        top_p: Some(1.5),
        ..Default::default()
    };
    assert!(matches!(
        llm.chat(&capital(), &bad, |_| true),
        Err(LlmError::BadRequest(_))
    ));
    assert!(matches!(
        llm.chat(&[], &GenParams::default(), |_| true),
        Err(LlmError::BadRequest(_))
    ));
}

#[test]
fn prompt_longer_than_the_context_is_an_error() {
    let mut llm = LocalLlm::load(
        &common::model_dir(),
        &LoadOptions {
            format: WeightFormat::Q8_0,
            max_ctx: 64,
        },
    )
    .unwrap();
    let long = [ChatMessage::user("word ".repeat(200))];
    match llm.chat(&long, &GenParams::default(), |_| true) {
        Err(LlmError::ContextOverflow { needed, max }) => assert!(needed > max && max == 64),
        other => panic!("expected ContextOverflow, got {other:?}"),
    }
    // The model is still usable afterwards.
    let g = llm
        .chat(
            &capital(),
            &GenParams {
                max_tokens: 16,
                ..Default::default()
            },
            |_| true,
        )
        .unwrap();
    assert!(g.text.contains("Paris"));
}

#[test]
fn answer_is_cut_at_the_context_end() {
    let mut llm = LocalLlm::load(
        &common::model_dir(),
        &LoadOptions {
            format: WeightFormat::Q8_0,
            max_ctx: 32,
        },
    )
    .unwrap();
    let prompt_tokens = llm.count_prompt_tokens(&capital()).unwrap();
    let g = llm.chat(
        &[ChatMessage::user("Tell me a long story.")],
        &GenParams {
            max_tokens: 500,
            ..Default::default()
        },
        |_| true,
    );
    let g = g.unwrap();
    assert!(
        g.prompt_tokens + g.tokens.len() <= 32,
        "{} + {}",
        g.prompt_tokens,
        g.tokens.len()
    );
    assert!(prompt_tokens < 32);
}

#[test]
fn context_budget_keeps_best_pieces_and_trims_the_last() {
    let llm = common::shared_llm().lock().unwrap();
    let t = llm.tokenizer();
    let a = "The river Orsel floods every spring.";
    let b = "Mirela Osk chairs the board of the water cooperative since 2019.";
    let c = "Unrelated filler text that should not fit in the budget at all.";
    let (na, nb) = (t.encode(a).unwrap().len(), t.encode(b).unwrap().len());
    // Everything fits.
    let (kept, used) = fit_pieces(t, &[a, b], na + nb + 1, 1, 4).unwrap();
    assert_eq!(kept, vec![a.to_string(), b.to_string()]);
    assert_eq!(used, na + nb + 1);
    // The second piece is cut to the tokens left.
    let (kept, used) = fit_pieces(t, &[a, b, c], na + 1 + 6, 1, 4).unwrap();
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[0], a);
    assert!(
        b.starts_with(&kept[1]) && kept[1].len() < b.len(),
        "{:?}",
        kept[1]
    );
    assert!(used <= na + 1 + 6);
    // Too little room for a useful fragment: the piece is dropped.
    let (kept, _) = fit_pieces(t, &[a, b], na + 1 + 2, 1, 4).unwrap();
    assert_eq!(kept, vec![a.to_string()]);
}

#[test]
fn grounded_prompt_fits_the_context_and_answers_from_it() {
    let mut llm = common::shared_llm().lock().unwrap();
    let passages = [
        "The Harwick Valley Water Cooperative is chaired by Mirela Osk, a soil engineer, since 2019.",
        "The cooperative's headquarters sits in the old railway station in the town of Brenna.",
        "Revenue from the higher tariff tier is set aside in a reserve fund that pays for pipe repairs.",
    ];
    let question = "Who chairs the Harwick Valley Water Cooperative?";
    let all =
        roadmap_llm::grounded_messages(llm.tokenizer(), question, &passages, 2048, 64).unwrap();
    assert_eq!(all.passages_used, 3);
    assert!(all.messages[0].content.contains("[3] Revenue"));
    let g = llm
        .chat(
            &all.messages,
            &GenParams {
                max_tokens: 48,
                ..Default::default()
            },
            |_| true,
        )
        .unwrap();
    assert_eq!(g.prompt_tokens, all.prompt_tokens);
    assert!(g.text.contains("Mirela Osk"), "{:?}", g.text);
    // A small context keeps only the best passage(s) and still fits.
    let small = roadmap_llm::grounded_messages(
        llm.tokenizer(),
        question,
        &passages,
        all.prompt_tokens - 10,
        16,
    )
    .unwrap();
    assert!(
        small.passages_used < 3 && small.passages_used >= 1,
        "{}",
        small.passages_used
    );
    assert!(small.prompt_tokens + 16 <= all.prompt_tokens - 10);
    // No room even for the instruction: a clear error.
    assert!(matches!(
        roadmap_llm::grounded_messages(llm.tokenizer(), question, &passages, 40, 16),
        Err(LlmError::ContextOverflow { .. })
    ));
}

#[test]
fn conversation_keeps_recent_whole_turns_within_half_the_budget() {
    use roadmap_llm::{chatml, grounded_conversation, ChatMessage, Role};
    let llm = common::shared_llm().lock().unwrap();
    let t = llm.tokenizer();
    let passages = ["Mirela Osk, a soil engineer, chairs the Harwick Valley Water Cooperative."];
    let history = vec![
        ChatMessage::user("Where is the cooperative's headquarters?"),
        ChatMessage::assistant("In the old railway station in Brenna [1]."),
        ChatMessage::user("Who chairs the Harwick Valley Water Cooperative?"),
        ChatMessage::assistant("Mirela Osk chairs it [1]."),
    ];
    let question = "What is her profession?";
    let roomy = grounded_conversation(t, &history, question, &passages, 2048, 64).unwrap();
    assert_eq!(roomy.history_turns, 4);
    assert_eq!(roomy.passages_used, 1);
    let roles: Vec<Role> = roomy.messages.iter().map(|m| m.role).collect();
    use Role::*;
    assert_eq!(roles, [System, User, Assistant, User, Assistant, User]);
    assert_eq!(roomy.messages[5].content, question);
    assert_eq!(
        roomy.prompt_tokens,
        t.encode(&chatml(&roomy.messages)).unwrap().len()
    );

    // Just enough room for the passage and the last exchange: the oldest exchange goes first,
    // whole, and the kept history still opens with a user turn.
    let no_history = grounded_conversation(t, &[], question, &passages, 2048, 64).unwrap();
    let last_two: usize = history[2..]
        .iter()
        .map(|m| t.encode(&m.content).unwrap().len() + 4)
        .sum();
    let tight = no_history.prompt_tokens + 64 + 2 * last_two + 2;
    let p = grounded_conversation(t, &history, question, &passages, tight, 64).unwrap();
    assert_eq!(p.history_turns, 2, "{p:?}");
    assert_eq!(p.messages[1].content, history[2].content);
    assert!(p.prompt_tokens + 64 <= tight);
    // No history at all behaves exactly like a single question.
    assert_eq!(
        no_history.messages,
        roadmap_llm::grounded_messages(t, question, &passages, 2048, 64)
            .unwrap()
            .messages
    );
}
