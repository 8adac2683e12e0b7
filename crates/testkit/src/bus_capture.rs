//! What the refresher sends out, captured on the stand-in: every event of a bus routed to a new
//! queue, and a queue's messages read back (without deleting them).

use aws_config::SdkConfig;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName};
use serde_json::json;

/// Creates queue `name` and a rule on `bus` that sends it every event; the queue's URL.
pub async fn bus_to_queue(sdk: &SdkConfig, bus: &str, name: &str) -> String {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("cannot create queue {name}: {e:?}"))
        .queue_url()
        .unwrap_or_default()
        .to_owned();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("cannot read the ARN of {name}: {e:?}"));
    let arn = attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .unwrap_or_default();
    let events = aws_sdk_eventbridge::Client::new(sdk);
    let rule = format!("{name}-capture");
    events
        .put_rule()
        .name(&rule)
        .event_bus_name(bus)
        .event_pattern(json!({"source": [{"prefix": ""}]}).to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("cannot create rule {rule} on {bus}: {e:?}"));
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("sqs")
        .arn(arn)
        .build()
        .unwrap_or_else(|e| panic!("a target needs an id and an ARN: {e:?}"));
    events
        .put_targets()
        .rule(&rule)
        .event_bus_name(bus)
        .targets(target)
        .send()
        .await
        .unwrap_or_else(|e| panic!("cannot target {name} from {rule}: {e:?}"));
    url
}

/// Every message in the queue, with its attributes (received, not deleted: each is seen once per
/// visibility timeout).
pub async fn drain(sdk: &SdkConfig, url: &str) -> Vec<Message> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut messages = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap_or_else(|e| panic!("cannot receive from {url}: {e:?}"));
        if out.messages().is_empty() {
            return messages;
        }
        messages.extend(out.messages().iter().cloned());
    }
}
