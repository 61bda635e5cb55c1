package dev.strata.control.aws;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BuiltFromSecretsTest {

    @Test
    void makesAgainOnlyWhenASecretChanged() {
        List<List<String>> made = new ArrayList<>();
        BuiltFromSecrets<Object> built = new BuiltFromSecrets<>(v -> {
            made.add(v);
            return new Object();
        });
        Object first = built.get(List.of("key-1", "password"));
        assertThat(built.get(List.of("key-1", "password"))).isSameAs(first);
        Object rotated = built.get(List.of("key-2", "password"));
        assertThat(rotated).isNotSameAs(first);
        assertThat(built.get(List.of("key-2", "password"))).isSameAs(rotated);
        assertThat(made).containsExactly(List.of("key-1", "password"), List.of("key-2", "password"));
    }
}
