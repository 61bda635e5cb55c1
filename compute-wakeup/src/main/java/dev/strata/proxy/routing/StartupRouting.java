package dev.strata.proxy.routing;

import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.protocol.FrontendMessage.StartupMessage;
import dev.strata.proxy.protocol.ErrorKind;
import dev.strata.proxy.protocol.ProxyException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * Names the endpoint of a new connection: from the TLS SNI host name (its first label, when
 * the name has at least two labels and is not an IP address) and from the {@code options}
 * startup parameter, which may carry {@code endpoint=<id>}, {@code --endpoint=<id>},
 * {@code -c endpoint=<id>} or {@code -cendpoint=<id>} among other options (libpq sends
 * {@code options=endpoint%3D<id>} of a connection string as {@code endpoint=<id>}). When
 * both name one, they must agree. The endpoint option is removed before the startup packet
 * goes to the compute (PostgreSQL would reject an unknown option); other options stay.
 *
 * <p>Pure: no I/O, so every case is a plain unit test.
 */
public final class StartupRouting {

    private StartupRouting() {
    }

    public static Route route(String sniHost, StartupMessage startup) {
        EndpointId fromSni = sniHost == null ? null : fromSni(sniHost);
        String options = startup.parameters().get("options");
        EndpointId fromOptions = null;
        String remaining = options;
        if (options != null) {
            List<String> kept = new ArrayList<>();
            List<String> tokens = splitOptions(options);
            for (int i = 0; i < tokens.size(); i++) {
                String t = tokens.get(i);
                String value = null;
                if (t.startsWith("endpoint=")) {
                    value = t.substring("endpoint=".length());
                } else if (t.startsWith("--endpoint=")) {
                    value = t.substring("--endpoint=".length());
                } else if (t.startsWith("-cendpoint=")) {
                    value = t.substring("-cendpoint=".length());
                } else if (t.equals("-c") && i + 1 < tokens.size() && tokens.get(i + 1).startsWith("endpoint=")) {
                    value = tokens.get(++i).substring("endpoint=".length());
                }
                if (value == null) {
                    kept.add(t);
                    continue;
                }
                EndpointId id = parse(value, "options");
                if (fromOptions != null && !fromOptions.equals(id)) {
                    throw new ProxyException(ErrorKind.ENDPOINT_MISMATCH, "options name two endpoints: '"
                            + fromOptions + "' and '" + id + "'");
                }
                fromOptions = id;
            }
            remaining = joinOptions(kept);
        }
        if (fromSni != null && fromOptions != null && !fromSni.equals(fromOptions)) {
            throw new ProxyException(ErrorKind.ENDPOINT_MISMATCH, "the TLS server name names endpoint '" + fromSni
                    + "' but options name endpoint '" + fromOptions + "'");
        }
        EndpointId endpoint = fromSni != null ? fromSni : fromOptions;
        if (endpoint == null) {
            throw new ProxyException(ErrorKind.MISSING_ENDPOINT, "no endpoint given: connect with TLS to host "
                    + "<endpoint>.localhost (SNI) or pass options=endpoint%3D<endpoint> in the connection string");
        }
        LinkedHashMap<String, String> params = new LinkedHashMap<>(startup.parameters());
        if (remaining == null || remaining.isEmpty()) {
            params.remove("options");
        } else {
            params.put("options", remaining);
        }
        return new Route(endpoint, new StartupMessage(startup.protocolVersion(), params));
    }

    /** The endpoint named by an SNI host name, or null if the name names none (no dot, IP literal). */
    static EndpointId fromSni(String host) {
        int dot = host.indexOf('.');
        if (dot <= 0 || host.chars().allMatch(c -> c == '.' || Character.isDigit(c)) || host.contains(":")) {
            return null;
        }
        return parse(host.substring(0, dot), "TLS server name");
    }

    private static EndpointId parse(String value, String source) {
        try {
            return EndpointId.of(value);
        } catch (IllegalArgumentException e) {
            throw new ProxyException(ErrorKind.ENDPOINT_MISMATCH, source + ": " + e.getMessage());
        }
    }

    /** PostgreSQL's {@code pg_split_opts}: whitespace separates, a backslash escapes the next character. */
    static List<String> splitOptions(String options) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = null;
        for (int i = 0; i < options.length(); i++) {
            char c = options.charAt(i);
            if (Character.isWhitespace(c)) {
                if (cur != null) {
                    out.add(cur.toString());
                    cur = null;
                }
                continue;
            }
            if (cur == null) {
                cur = new StringBuilder();
            }
            if (c == '\\' && i + 1 < options.length()) {
                c = options.charAt(++i);
            }
            cur.append(c);
        }
        if (cur != null) {
            out.add(cur.toString());
        }
        return out;
    }

    static String joinOptions(List<String> tokens) {
        StringBuilder sb = new StringBuilder();
        for (String t : tokens) {
            if (!sb.isEmpty()) {
                sb.append(' ');
            }
            for (int i = 0; i < t.length(); i++) {
                char c = t.charAt(i);
                if (c == '\\' || Character.isWhitespace(c)) {
                    sb.append('\\');
                }
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
