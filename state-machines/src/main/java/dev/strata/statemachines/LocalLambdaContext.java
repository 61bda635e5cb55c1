package dev.strata.statemachines;

import com.amazonaws.services.lambda.runtime.ClientContext;
import com.amazonaws.services.lambda.runtime.CognitoIdentity;
import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Lambda {@link Context} a handler gets when the local engine calls it: a fresh request id, the
 * function's name and ARN, the time left before the task state's {@code TimeoutSeconds}, and a logger
 * writing to SLF4J under {@code lambda.<function>}.
 */
final class LocalLambdaContext implements Context {

    private static final int MEMORY_MB = 1024;

    private final String requestId = UUID.randomUUID().toString();
    private final String functionName;
    private final String functionArn;
    private final long deadlineNanos;
    private final LambdaLogger logger;

    LocalLambdaContext(String functionName, String functionArn, long timeoutMillis) {
        this.functionName = functionName;
        this.functionArn = functionArn;
        this.deadlineNanos = System.nanoTime() + timeoutMillis * 1_000_000L;
        Logger log = LoggerFactory.getLogger("lambda." + functionName);
        this.logger = new LambdaLogger() {
            @Override
            public void log(String message) {
                log.info("{} {}", requestId, message);
            }

            @Override
            public void log(byte[] message) {
                log(new String(message, StandardCharsets.UTF_8));
            }
        };
    }

    @Override
    public String getAwsRequestId() {
        return requestId;
    }

    @Override
    public String getLogGroupName() {
        return "/aws/lambda/" + functionName;
    }

    @Override
    public String getLogStreamName() {
        return "local";
    }

    @Override
    public String getFunctionName() {
        return functionName;
    }

    @Override
    public String getFunctionVersion() {
        return "$LATEST";
    }

    @Override
    public String getInvokedFunctionArn() {
        return functionArn;
    }

    @Override
    public CognitoIdentity getIdentity() {
        return null;
    }

    @Override
    public ClientContext getClientContext() {
        return null;
    }

    @Override
    public int getRemainingTimeInMillis() {
        return (int) Math.max(0, (deadlineNanos - System.nanoTime()) / 1_000_000L);
    }

    @Override
    public int getMemoryLimitInMB() {
        return MEMORY_MB;
    }

    @Override
    public LambdaLogger getLogger() {
        return logger;
    }
}
