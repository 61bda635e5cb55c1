package dev.strata.control.keys;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/**
 * The answer to a custom resource request: a JSON document PUT to the request's pre-signed
 * response URL (CloudFormation waits for it, up to an hour, so it must be sent whatever happens).
 * The reason is what the stack's events show; it never carries a secret.
 */
final class CustomResourceResponse {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_REASON = 1000;

    private CustomResourceResponse() {
    }

    static String body(CustomResourceEvent e, boolean success, String reason, String physicalId, Map<String, String> data) {
        ObjectNode o = JSON.createObjectNode();
        o.put("Status", success ? "SUCCESS" : "FAILED");
        o.put("Reason", reason.length() > MAX_REASON ? reason.substring(0, MAX_REASON) + "…" : reason);
        o.put("PhysicalResourceId", physicalId);
        o.put("StackId", e.stackId());
        o.put("RequestId", e.requestId());
        o.put("LogicalResourceId", e.logicalResourceId());
        ObjectNode d = o.putObject("Data");
        data.forEach(d::put);
        return o.toString();
    }

    /** PUTs {@code body} to the response URL; throws if it was not accepted (the Lambda's log then says why). */
    static void send(HttpClient http, CustomResourceEvent e, String body) throws IOException, InterruptedException {
        // The pre-signed URL is signed without a content type: send none (the JDK client adds none to a PUT).
        HttpRequest put = HttpRequest.newBuilder(e.responseUrl()).timeout(Duration.ofSeconds(30))
                .PUT(HttpRequest.BodyPublishers.ofString(body)).build();
        HttpResponse<String> r = http.send(put, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) {
            throw new IOException("the response URL answered " + r.statusCode() + ": " + r.body());
        }
    }
}
