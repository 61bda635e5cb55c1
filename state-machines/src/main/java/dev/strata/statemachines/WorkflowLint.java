package dev.strata.statemachines;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Strata's own rules for a workflow definition, beyond what asl-validator checks (the build runs both):
 * <ul>
 * <li>every transition ({@code StartAt}, {@code Next}, {@code Default}, a choice's or catcher's
 *     {@code Next}) names a state, every state is reachable, and a state that can go on says where;</li>
 * <li>every Task calls a {@code strata-} Lambda function by a placeholder ARN qualified by
 *     {@code ${Alias}} (an unqualified ARN runs {@code $LATEST}, without SnapStart), has a
 *     {@code TimeoutSeconds}, retries exactly {@link WorkflowErrors#RETRIED} with backoff (a ClaimAgent
 *     task also {@link WorkflowErrors#AGENT_STARTING}, in a retrier of its own), and catches
 *     {@code States.ALL} last, keeping its input ({@code ResultPath} set) for the compensation;</li>
 * <li>a catcher leads to a compensation (a Task whose {@code Comment} starts "Compensation:") or a Fail
 *     state, and from there every path ends in a Fail state: a failed operation never reports success;</li>
 * <li>JSONPath only, an execution {@code TimeoutSeconds}, no placeholder but {@code ${Region}},
 *     {@code ${Account}} and {@code ${Alias}}.</li>
 * </ul>
 */
public final class WorkflowLint {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern TASK_ARN = Pattern.compile(
            Pattern.quote("arn:aws:lambda:" + Workflow.REGION_PLACEHOLDER + ":" + Workflow.ACCOUNT_PLACEHOLDER
                    + ":function:") + "strata-[a-z][a-z-]*" + Pattern.quote(":" + Workflow.ALIAS_PLACEHOLDER));
    private static final Set<String> PLACEHOLDERS =
            Set.of(Workflow.REGION_PLACEHOLDER, Workflow.ACCOUNT_PLACEHOLDER, Workflow.ALIAS_PLACEHOLDER);
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{[^}]*}");
    private static final String COMPENSATION = "Compensation:";

    private WorkflowLint() {
    }

    /** The problems of a raw definition (placeholders in), one message each naming the state; empty if none. */
    public static List<String> check(String rawDefinition) {
        List<String> problems = new ArrayList<>();
        Matcher m = PLACEHOLDER.matcher(rawDefinition);
        while (m.find()) {
            if (!PLACEHOLDERS.contains(m.group())) {
                problems.add("unknown placeholder " + m.group()
                        + " (only ${Region}, ${Account} and ${Alias} are substituted)");
            }
        }
        JsonNode def;
        try {
            def = JSON.readTree(rawDefinition);
        } catch (JsonProcessingException e) {
            problems.add("not JSON: " + e.getOriginalMessage());
            return problems;
        }
        if (def.has("QueryLanguage") && !def.get("QueryLanguage").asText().equals("JSONPath")) {
            problems.add("QueryLanguage must be JSONPath (the local engine has no JSONata)");
        }
        if (!def.path("TimeoutSeconds").canConvertToInt() || def.path("TimeoutSeconds").asInt() < 1) {
            problems.add("the workflow has no TimeoutSeconds");
        }
        JsonNode states = def.path("States");
        if (!states.isObject() || states.isEmpty()) {
            problems.add("no States");
            return problems;
        }
        String start = def.path("StartAt").asText(null);
        if (start == null || !states.has(start)) {
            problems.add("StartAt '" + start + "' is not a state");
        }
        for (Map.Entry<String, JsonNode> e : states.properties()) {
            checkState(e.getKey(), e.getValue(), states, problems);
        }
        if (start != null && states.has(start)) {
            Set<String> reachable = reachableFrom(start, states);
            for (Iterator<String> it = states.fieldNames(); it.hasNext(); ) {
                String name = it.next();
                if (!reachable.contains(name)) {
                    problems.add(name + ": not reachable from StartAt");
                }
            }
        }
        return problems;
    }

    private static void checkState(String name, JsonNode s, JsonNode states, List<String> problems) {
        String type = s.path("Type").asText();
        for (String target : transitions(s)) {
            if (!states.has(target)) {
                problems.add(name + ": goes to '" + target + "', which is not a state (dangling Next)");
            }
        }
        switch (type) {
            case "Task", "Pass", "Wait", "Parallel", "Map" -> {
                boolean next = s.has("Next");
                boolean end = s.path("End").asBoolean(false);
                if (next == end) {
                    problems.add(name + ": needs exactly one of Next and End");
                }
            }
            case "Choice" -> {
                if (!s.path("Choices").isArray() || s.path("Choices").isEmpty()) {
                    problems.add(name + ": a Choice without Choices");
                }
                if (!s.has("Default")) {
                    problems.add(name + ": a Choice without Default (no match would fail the execution)");
                }
            }
            case "Succeed" -> { }
            case "Fail" -> {
                if (!s.has("Error") && !s.has("ErrorPath")) {
                    problems.add(name + ": a Fail state names no Error or ErrorPath");
                }
            }
            default -> problems.add(name + ": unknown Type '" + type + "'");
        }
        if (type.equals("Task")) {
            checkTask(name, s, states, problems);
        }
    }

    private static void checkTask(String name, JsonNode s, JsonNode states, List<String> problems) {
        if (!TASK_ARN.matcher(s.path("Resource").asText()).matches()) {
            problems.add(name + ": Resource must be arn:aws:lambda:${Region}:${Account}:function:strata-<step>:${Alias}"
                    + " (an unqualified ARN runs $LATEST, without SnapStart), got '" + s.path("Resource").asText() + "'");
        }
        if (!s.path("TimeoutSeconds").canConvertToInt() || s.path("TimeoutSeconds").asInt() < 1) {
            problems.add(name + ": a Task without TimeoutSeconds");
        }
        JsonNode retry = s.path("Retry");
        if (!retry.isArray() || retry.isEmpty()) {
            problems.add(name + ": a Task without Retry");
        }
        boolean claimsAgent = s.path("Resource").asText().contains(":function:strata-claim-agent:");
        for (JsonNode r : retry) {
            Set<String> errors = new HashSet<>();
            r.path("ErrorEquals").forEach(e -> errors.add(e.asText()));
            boolean agentStarting = claimsAgent && errors.equals(Set.of(WorkflowErrors.AGENT_STARTING));
            if (!errors.equals(Set.copyOf(WorkflowErrors.RETRIED)) && !agentStarting) {
                problems.add(name + ": Retry must match exactly " + WorkflowErrors.RETRIED + " (transient errors)"
                        + (claimsAgent ? " or [" + WorkflowErrors.AGENT_STARTING + "]" : "") + ", got " + errors);
            }
            if (r.path("IntervalSeconds").asInt(0) < 1 || r.path("BackoffRate").asDouble(0) <= 1.0
                    || r.path("MaxAttempts").asInt(0) < 2 || !r.has("MaxDelaySeconds")) {
                problems.add(name + ": Retry needs IntervalSeconds >= 1, BackoffRate > 1, MaxAttempts >= 2 and"
                        + " MaxDelaySeconds (backoff, bounded)");
            }
        }
        JsonNode catchers = s.path("Catch");
        if (!catchers.isArray() || catchers.isEmpty()) {
            problems.add(name + ": a Task without Catch");
            return;
        }
        JsonNode last = catchers.get(catchers.size() - 1);
        if (last.path("ErrorEquals").size() != 1 || !last.path("ErrorEquals").get(0).asText().equals("States.ALL")) {
            problems.add(name + ": the last catcher must catch [States.ALL]");
        }
        for (JsonNode c : catchers) {
            String rp = c.path("ResultPath").asText(null);
            if (rp == null || rp.equals("$")) {
                problems.add(name + ": a catcher must keep the input (ResultPath set, not $) for the compensation");
            }
            String target = c.path("Next").asText();
            JsonNode t = states.path(target);
            boolean compensation = t.path("Type").asText().equals("Task")
                    && t.path("Comment").asText().startsWith(COMPENSATION);
            if (!compensation && !t.path("Type").asText().equals("Fail")) {
                problems.add(name + ": catcher goes to '" + target + "', neither a compensation nor a Fail state");
            }
            if (states.has(target)) {
                for (String after : reachableFrom(target, states)) {
                    JsonNode a = states.get(after);
                    if (a.path("Type").asText().equals("Succeed") || a.path("End").asBoolean(false)) {
                        problems.add(name + ": after its catcher, '" + after
                                + "' can end the execution successfully; a failure must end in a Fail state");
                    }
                }
            }
        }
    }

    private static List<String> transitions(JsonNode s) {
        List<String> out = new ArrayList<>();
        if (s.has("Next")) {
            out.add(s.get("Next").asText());
        }
        if (s.has("Default")) {
            out.add(s.get("Default").asText());
        }
        s.path("Choices").forEach(c -> out.add(c.path("Next").asText()));
        s.path("Catch").forEach(c -> out.add(c.path("Next").asText()));
        return out;
    }

    private static Set<String> reachableFrom(String start, JsonNode states) {
        Set<String> seen = new LinkedHashSet<>();
        Deque<String> todo = new ArrayDeque<>(List.of(start));
        while (!todo.isEmpty()) {
            String s = todo.pop();
            if (!states.has(s) || !seen.add(s)) {
                continue;
            }
            todo.addAll(transitions(states.get(s)));
        }
        return seen;
    }
}
