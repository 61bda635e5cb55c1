package dev.strata.control.keys;

import java.net.URI;
import java.util.Map;

/**
 * A CloudFormation custom resource request, as Lambda hands it over (a JSON object): what to do,
 * where to answer, and the resource's properties. Only the fields this code reads.
 */
record CustomResourceEvent(String requestType, URI responseUrl, String stackId, String requestId,
                           String logicalResourceId, String physicalResourceId, Map<String, Object> properties) {

    /** Reads the event; an event without a response URL cannot be answered, so it is thrown back. */
    static CustomResourceEvent of(Map<String, Object> e) {
        Object url = e.get("ResponseURL");
        if (!(url instanceof String u) || u.isBlank()) {
            throw new IllegalArgumentException("not a CloudFormation custom resource event: no ResponseURL");
        }
        Object props = e.get("ResourceProperties");
        @SuppressWarnings("unchecked")
        Map<String, Object> properties = props instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
        return new CustomResourceEvent(text(e, "RequestType"), URI.create(u), text(e, "StackId"), text(e, "RequestId"),
                text(e, "LogicalResourceId"), text(e, "PhysicalResourceId"), properties);
    }

    private static String text(Map<String, Object> e, String field) {
        Object v = e.get(field);
        return v == null ? "" : v.toString();
    }

    /** A required string property; an error naming it. */
    String property(String name) {
        Object v = properties.get(name);
        if (!(v instanceof String s) || s.isBlank()) {
            throw new IllegalArgumentException("the custom resource has no " + name + " property");
        }
        return s;
    }
}
