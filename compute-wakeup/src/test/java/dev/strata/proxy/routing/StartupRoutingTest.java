package dev.strata.proxy.routing;

import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.protocol.FrontendMessage.StartupMessage;
import dev.strata.proxy.protocol.ErrorKind;
import dev.strata.proxy.protocol.ProxyException;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StartupRoutingTest {

    private static StartupMessage startup(String options) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("user", "alice");
        p.put("database", "db");
        if (options != null) {
            p.put("options", options);
        }
        return StartupMessage.of(p);
    }

    @Test
    void libpqOptionsFormNamesTheEndpointAndIsRemoved() {
        Route r = StartupRouting.route(null, startup("endpoint=ep-1"));
        assertThat(r.endpoint()).isEqualTo(EndpointId.of("ep-1"));
        assertThat(r.forwardedStartup().parameters()).containsOnlyKeys("user", "database");
        assertThat(r.forwardedStartup().protocolVersion()).isEqualTo(StartupMessage.PROTOCOL_3_0);
    }

    @Test
    void commandLineStylesAreAcceptedAndOtherOptionsKept() {
        for (String options : List.of("-c endpoint=ep1 -c search_path=a\\ b", "--endpoint=ep1 -c search_path=a\\ b",
                "-cendpoint=ep1 -c search_path=a\\ b", "-c search_path=a\\ b endpoint=EP1")) {
            Route r = StartupRouting.route(null, startup(options));
            assertThat(r.endpoint().value()).as(options).isEqualTo("ep1");
            assertThat(r.forwardedStartup().parameters().get("options")).as(options).isEqualTo("-c search_path=a\\ b");
        }
    }

    @Test
    void sniFirstLabelNamesTheEndpoint() {
        Route r = StartupRouting.route("ep2.localhost", startup("-c work_mem=64kB"));
        assertThat(r.endpoint().value()).isEqualTo("ep2");
        assertThat(r.forwardedStartup().parameters().get("options")).isEqualTo("-c work_mem=64kB");
    }

    @Test
    void sniWithoutADotOrAnIpAddressNamesNothing() {
        assertThat(StartupRouting.fromSni("localhost")).isNull();
        assertThat(StartupRouting.fromSni("127.0.0.1")).isNull();
        assertThat(StartupRouting.route("localhost", startup("endpoint=e")).endpoint().value()).isEqualTo("e");
    }

    @Test
    void sniAndOptionsMustAgree() {
        assertThat(StartupRouting.route("ep1.localhost", startup("endpoint=ep1")).endpoint().value()).isEqualTo("ep1");
        assertThatThrownBy(() -> StartupRouting.route("ep1.localhost", startup("endpoint=ep2")))
                .isInstanceOf(ProxyException.class)
                .hasMessageContaining("'ep1'").hasMessageContaining("'ep2'")
                .extracting(e -> ((ProxyException) e).kind()).isEqualTo(ErrorKind.ENDPOINT_MISMATCH);
    }

    @Test
    void twoDifferentEndpointsInOptionsAreRefused() {
        assertThatThrownBy(() -> StartupRouting.route(null, startup("endpoint=a endpoint=b")))
                .isInstanceOf(ProxyException.class).hasMessageContaining("two endpoints");
    }

    @Test
    void missingEndpointSaysHowToGiveOne() {
        assertThatThrownBy(() -> StartupRouting.route(null, startup(null)))
                .isInstanceOf(ProxyException.class)
                .hasMessageContaining("options=endpoint%3D")
                .extracting(e -> ((ProxyException) e).kind().sqlState()).isEqualTo("08004");
    }

    @Test
    void malformedEndpointIdIsRefusedWithoutEchoingControlCharacters() {
        assertThatThrownBy(() -> StartupRouting.route(null, startup("endpoint=bad_id\u0001")))
                .isInstanceOf(ProxyException.class)
                .hasMessageContaining("invalid endpoint id 'bad_id?'");
        assertThatThrownBy(() -> EndpointId.of("-x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> EndpointId.of("x".repeat(64))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void optionsSplitAndJoinRoundTripBackslashEscapes() {
        List<String> tokens = StartupRouting.splitOptions("  -c a=b\\ c  d\\\\e ");
        assertThat(tokens).containsExactly("-c", "a=b c", "d\\e");
        assertThat(StartupRouting.splitOptions(StartupRouting.joinOptions(tokens))).isEqualTo(tokens);
    }
}
