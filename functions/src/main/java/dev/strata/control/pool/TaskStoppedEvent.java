package dev.strata.control.pool;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * An EventBridge "ECS Task State Change" event, the fields the reaper reads: the task, its status,
 * the service group it belongs to ({@code service:<name>}), and the private addresses of its
 * network interfaces (awsvpc tasks: {@code attachments[].details[]} named
 * {@code privateIPv4Address}). Anything else in the event is ignored; a field that is absent or of
 * another shape reads as empty, so a malformed event is a no-op, never an exception.
 */
record TaskStoppedEvent(String taskArn, String lastStatus, String group, String stoppedReason, List<String> addresses) {

    static TaskStoppedEvent of(Map<String, Object> event) {
        Map<?, ?> detail = event.get("detail") instanceof Map<?, ?> d ? d : Map.of();
        List<String> addresses = new ArrayList<>();
        if (detail.get("attachments") instanceof List<?> attachments) {
            for (Object a : attachments) {
                if (a instanceof Map<?, ?> attachment && attachment.get("details") instanceof List<?> details) {
                    for (Object kv : details) {
                        if (kv instanceof Map<?, ?> pair && "privateIPv4Address".equals(pair.get("name"))
                                && pair.get("value") instanceof String ip && !ip.isBlank()) {
                            addresses.add(ip);
                        }
                    }
                }
            }
        }
        return new TaskStoppedEvent(text(detail, "taskArn"), text(detail, "lastStatus"), text(detail, "group"),
                text(detail, "stoppedReason"), List.copyOf(addresses));
    }

    private static String text(Map<?, ?> m, String field) {
        return m.get(field) instanceof String s ? s : "";
    }

    boolean stopped() {
        return "STOPPED".equals(lastStatus);
    }
}
