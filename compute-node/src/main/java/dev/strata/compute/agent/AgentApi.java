package dev.strata.compute.agent;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import java.util.Iterator;
import java.util.Set;

/**
 * The agent API's JSON (docs/compute.md, "The agent API"): the start order's body and every
 * reply. Only codecs here; {@link AgentServer} routes and {@link ComputeAgent} acts.
 *
 * <pre>
 * PUT    /v1/endpoints/{id}/compute   {"timelineId":"…","term":3,"startLsn":"0/1A2B3C0","computeToken":"…"}
 *                                     → 200 {"endpointId","timelineId","term","epochStart","host","port"}
 * DELETE /v1/endpoints/{id}/compute   → 200 {"endpointId","stopped":true|false}
 * GET    /v1/endpoints/{id}/sessions  → 200 {"endpointId","sessions":n}
 * GET    /v1/status                   → 200 {"state","endpointId","compute":{…}|null,"failure"}
 * errors                              → 4xx/5xx {"error":"&lt;code&gt;","message":"…"}
 * </pre>
 */
public final class AgentApi {

    /** Largest request body accepted; a start order is a few hundred bytes. */
    public static final int MAX_BODY_BYTES = 64 * 1024;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> START_FIELDS = Set.of("timelineId", "term", "startLsn", "computeToken");

    private AgentApi() {
    }

    /** A request the API cannot act on, with what is wrong in words a caller can fix. */
    public static final class BadRequest extends RuntimeException {
        public BadRequest(String message) {
            super(message);
        }
    }

    /** The endpoint id in a path, or {@link BadRequest}. */
    public static EndpointId endpoint(String raw) {
        try {
            return EndpointId.of(raw);
        } catch (IllegalArgumentException e) {
            throw new BadRequest(e.getMessage());
        }
    }

    /** The start order in a {@code PUT /v1/endpoints/{id}/compute} body. */
    public static StartOrder parseStart(EndpointId endpoint, byte[] body) {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (java.io.IOException e) {
            throw new BadRequest("the body is not JSON: " + firstLine(e.getMessage()));
        }
        if (root == null || !root.isObject()) {
            throw new BadRequest("the body must be a JSON object with " + START_FIELDS);
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!START_FIELDS.contains(f)) {
                throw new BadRequest("unknown field '" + f + "'; a start order has " + START_FIELDS);
            }
        }
        String timeline = text(root, "timelineId");
        JsonNode term = root.get("term");
        if (term == null || !term.canConvertToLong() || !term.isIntegralNumber()) {
            throw new BadRequest("'term' must be a positive integer");
        }
        String startLsn = text(root, "startLsn");
        String token = text(root, "computeToken");
        try {
            return new StartOrder(endpoint, TimelineId.parse(timeline), Term.of(term.longValue()), Lsn.parse(startLsn), token);
        } catch (IllegalArgumentException e) {
            throw new BadRequest(e.getMessage());
        }
    }

    private static String text(JsonNode root, String field) {
        JsonNode n = root.get(field);
        if (n == null || !n.isTextual() || n.asText().isEmpty()) {
            throw new BadRequest("'" + field + "' is missing or not a non-empty string");
        }
        return n.asText();
    }

    /** The body of a start order (the client's side). */
    public static byte[] startBody(StartOrder order) {
        ObjectNode o = JSON.createObjectNode();
        o.put("timelineId", order.timeline().toString());
        o.put("term", order.term().value());
        o.put("startLsn", order.startLsn().toString());
        o.put("computeToken", order.computeToken());
        return write(o);
    }

    public static byte[] running(ComputeAgent.Running r) {
        return write(runningNode(r));
    }

    private static ObjectNode runningNode(ComputeAgent.Running r) {
        ObjectNode o = JSON.createObjectNode();
        o.put("endpointId", r.endpoint().toString());
        o.put("timelineId", r.order().timeline().toString());
        o.put("term", r.term().value());
        o.put("epochStart", r.epochStart().toString());
        o.put("host", r.host());
        o.put("port", r.port());
        return o;
    }

    public static byte[] stopped(EndpointId endpoint, boolean stopped) {
        ObjectNode o = JSON.createObjectNode();
        o.put("endpointId", endpoint.toString());
        o.put("stopped", stopped);
        return write(o);
    }

    public static byte[] sessions(EndpointId endpoint, int sessions) {
        ObjectNode o = JSON.createObjectNode();
        o.put("endpointId", endpoint.toString());
        o.put("sessions", sessions);
        return write(o);
    }

    public static byte[] status(ComputeAgent.Status s) {
        ObjectNode o = JSON.createObjectNode();
        o.put("state", s.state());
        if (s.endpoint() == null) {
            o.putNull("endpointId");
        } else {
            o.put("endpointId", s.endpoint().toString());
        }
        if (s.running() == null) {
            o.putNull("compute");
        } else {
            o.set("compute", runningNode(s.running()));
        }
        if (s.failure() == null) {
            o.putNull("failure");
        } else {
            o.put("failure", s.failure());
        }
        return write(o);
    }

    public static byte[] error(String code, String message) {
        ObjectNode o = JSON.createObjectNode();
        o.put("error", code);
        o.put("message", message == null ? code : message);
        return write(o);
    }

    private static byte[] write(JsonNode n) {
        try {
            return JSON.writeValueAsBytes(n);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree did not serialize", e);
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
