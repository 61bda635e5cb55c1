package dev.strata.statemachines;

import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which Java {@link RequestHandler} runs each Lambda function of a local execution, by function name
 * (the last part of a task's {@code Resource} ARN, {@code strata-claim-agent}). The handler's input is
 * the task payload converted to {@code inputType} with Jackson, and its output is converted back, as
 * the Lambda Java runtime does with POJO handlers.
 */
public final class LambdaHandlers {

    record Registered<I>(String functionName, Class<I> inputType, RequestHandler<I, ?> handler) {
    }

    private final Map<String, Registered<?>> byFunction = new ConcurrentHashMap<>();

    /** Routes the function to the handler; a second registration of one name replaces the first. */
    public <I> LambdaHandlers add(String functionName, Class<I> inputType, RequestHandler<I, ?> handler) {
        if (functionName == null || !functionName.matches("[A-Za-z0-9_-]{1,64}")) {
            throw new IllegalArgumentException("not a Lambda function name: '" + functionName + "'");
        }
        byFunction.put(functionName, new Registered<>(functionName, Objects.requireNonNull(inputType, "inputType is null"),
                Objects.requireNonNull(handler, "handler is null")));
        return this;
    }

    /** The function names routed. */
    public Set<String> functionNames() {
        return Set.copyOf(byFunction.keySet());
    }

    Optional<Registered<?>> find(String functionName) {
        return Optional.ofNullable(byFunction.get(functionName));
    }
}
