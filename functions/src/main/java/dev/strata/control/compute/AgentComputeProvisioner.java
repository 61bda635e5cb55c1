package dev.strata.control.compute;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.control.StepFailedException;
import dev.strata.control.TransientStepException;
import dev.strata.control.model.ComputeAgent;
import dev.strata.pgcore.auth.Claims;
import dev.strata.pgcore.auth.BearerToken;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.auth.TokenIssuer;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * {@link ComputeProvisioner} over the compute agents' HTTP API (docs/compute.md, "The agent API";
 * the server is {@code dev.strata.compute.agent.AgentServer}). The control plane holds the signing
 * key: it issues a short-lived {@code agentapi} token for each call and, with each start order, the
 * compute token of the endpoint's timeline, so an agent never holds a key or a token it was not
 * given for the compute it runs.
 *
 * <p>Failures: no answer, a timeout or a 503 (the agent could not reach the safekeepers or the
 * pageserver in time) is a {@link TransientStepException}, which the workflow retries; any other
 * refusal (409 busy or term_refused, 4xx) is a {@link StepFailedException} carrying the agent's
 * message.
 */
public final class AgentComputeProvisioner implements ComputeProvisioner {

    /**
     * Starts and discards agent processes; what differs between the AWS pool (ECS tasks) and the
     * local one.
     */
    public interface AgentLauncher {
        /** Starts an agent named {@code id} and returns its API address, {@code host:port}. */
        String launch(NodeId id);

        /** Stops and discards the agent (its Postgres included). */
        void retire(ComputeAgent agent);
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    /** How long an {@code agentapi} token issued for one call stays valid. */
    private static final Duration CALL_TOKEN_LIFETIME = Duration.ofMinutes(5);
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(15);

    private final AgentLauncher launcher;
    private final TokenIssuer issuer;
    private final Clock clock;
    private final Duration startTimeout;
    private final HttpClient http;

    /**
     * @param startTimeout bound on one start (election take-over, pageserver wait, basebackup, Postgres
     *                     start); a start that takes longer is retried as transient
     */
    public AgentComputeProvisioner(AgentLauncher launcher, TokenIssuer issuer, Clock clock, Duration startTimeout) {
        this.launcher = Objects.requireNonNull(launcher, "launcher is null");
        this.issuer = Objects.requireNonNull(issuer, "issuer is null");
        this.clock = Objects.requireNonNull(clock, "clock is null");
        this.startTimeout = Objects.requireNonNull(startTimeout, "startTimeout is null");
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5))
                .build();
    }

    @Override
    public String launchAgent(NodeId id) {
        return launcher.launch(id);
    }

    @Override
    public String startPostgres(ComputeAgent agent, EndpointId endpoint, TimelineId timeline, long term, Lsn startLsn) {
        ObjectNode order = JSON.createObjectNode();
        order.put("timelineId", timeline.toString());
        order.put("term", term);
        order.put("startLsn", startLsn.toString());
        order.put("computeToken", issuer.issue(Claims.compute(timeline, "compute-" + endpoint, Optional.empty())));
        JsonNode reply = call(agent, "PUT", "/v1/endpoints/" + endpoint + "/compute", order.toString(), startTimeout,
                "start Postgres for endpoint " + endpoint);
        String host = reply.path("host").asText("");
        int port = reply.path("port").asInt(0);
        if (host.isEmpty() || port <= 0) {
            throw new StepFailedException("agent " + agent.id() + " started endpoint " + endpoint
                    + " but did not say where it listens: " + reply);
        }
        return host + ":" + port;
    }

    @Override
    public void stopPostgres(ComputeAgent agent, EndpointId endpoint) {
        call(agent, "DELETE", "/v1/endpoints/" + endpoint + "/compute", null, CALL_TIMEOUT,
                "stop Postgres for endpoint " + endpoint);
    }

    @Override
    public int sessions(ComputeAgent agent, EndpointId endpoint) {
        JsonNode reply = call(agent, "GET", "/v1/endpoints/" + endpoint + "/sessions", null, CALL_TIMEOUT,
                "count the sessions of endpoint " + endpoint, true);
        if (reply == null) {
            // not_running: the compute died (killed, or with the agent's previous process); a compute
            // that does not run has no sessions, so a suspend of its endpoint goes on and frees the
            // agent (decision 0029: the wake of an endpoint RUNNING on a dead compute)
            return 0;
        }
        JsonNode n = reply.get("sessions");
        if (n == null || !n.canConvertToInt()) {
            throw new StepFailedException("agent " + agent.id() + " answered no session count: " + reply);
        }
        return n.intValue();
    }

    @Override
    public void retireAgent(ComputeAgent agent) {
        launcher.retire(agent);
    }

    private JsonNode call(ComputeAgent agent, String method, String path, String body, Duration timeout, String what) {
        return call(agent, method, path, body, timeout, what, false);
    }

    /** With {@code notRunningIsNull}: null when the agent answers 404 {@code not_running}. */
    private JsonNode call(ComputeAgent agent, String method, String path, String body, Duration timeout, String what,
                          boolean notRunningIsNull) {
        URI uri = URI.create("http://" + agent.address() + path);
        String token = issuer.issue(Claims.service(Scope.AGENT_API, "control-plane",
                Optional.of(clock.instant().plus(CALL_TOKEN_LIFETIME))));
        HttpRequest request = HttpRequest.newBuilder(uri)
                .timeout(timeout)
                .header(BearerToken.HEADER, BearerToken.headerValue(token))
                .header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
                .build();
        HttpResponse<String> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new TransientStepException("agent " + agent.id() + " at " + agent.address() + " did not answer (" + what
                    + "): " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TransientStepException("interrupted while asking agent " + agent.id() + " to " + what, e);
        }
        JsonNode reply;
        try {
            reply = JSON.readTree(response.body());
        } catch (IOException e) {
            reply = null;
        }
        int status = response.statusCode();
        if (status == 200 && reply != null && reply.isObject()) {
            return reply;
        }
        String message = reply != null && reply.has("message") ? reply.get("message").asText()
                : "HTTP " + status + ": " + abbreviate(response.body());
        String code = reply != null && reply.has("error") ? reply.get("error").asText() : "http_" + status;
        if (notRunningIsNull && status == 404 && "not_running".equals(code)) {
            return null;
        }
        String text = "agent " + agent.id() + " could not " + what + " (" + code + "): " + message;
        if (status == 503 || status == 502 || status == 504) {
            throw new TransientStepException(text);
        }
        throw new StepFailedException(text);
    }

    private static String abbreviate(String s) {
        return s == null ? "" : s.length() <= 300 ? s : s.substring(0, 300) + "…";
    }
}
