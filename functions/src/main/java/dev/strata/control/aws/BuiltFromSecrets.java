package dev.strata.control.aws;

import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * A value made from the current values of some secrets ({@link AwsSecrets} re-reads them every
 * few minutes), made again only when one of them changed: a rotated key or password reaches a
 * warm Lambda without a redeploy, and an unchanged one costs a comparison.
 *
 * @param <T> what is made (a storage control, a compute provisioner)
 */
final class BuiltFromSecrets<T> {

    private record Built<T>(List<String> secrets, T value) {
    }

    private final Function<List<String>, T> make;
    private volatile Built<T> built;

    /** @param make makes the value from the secrets' values, in the order {@link #get} is given them */
    BuiltFromSecrets(Function<List<String>, T> make) {
        this.make = Objects.requireNonNull(make, "make is null");
    }

    /** The value for these secret values: the one made last if they are the same, else a new one. */
    T get(List<String> secretValues) {
        Built<T> b = built;
        if (b == null || !b.secrets().equals(secretValues)) {
            List<String> values = List.copyOf(secretValues);
            b = new Built<>(values, make.apply(values));
            built = b;
        }
        return b.value();
    }
}
