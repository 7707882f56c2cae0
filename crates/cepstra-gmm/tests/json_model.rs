//! cepstra's JSON model format: what it refuses.

use cepstra_gmm::io::model_from_json;

fn full(covars: &str) -> String {
    format!(
        r#"{{"format":"cepstra-gmm","version":1,"covariance":"full","dim":2,"num_gauss":1,
            "weights":[1.0],"means":[[0.0,0.0]],"covars":{covars}}}"#
    )
}

#[test]
fn symmetric_full_covariance_reads() {
    let g = model_from_json(&full("[[[2.0,0.5],[0.5,1.0]]]")).unwrap();
    assert_eq!(g.num_gauss(), 1);
}

#[test]
fn asymmetric_full_covariance_is_refused_naming_component_and_entry() {
    let e = model_from_json(&full("[[[2.0,0.5],[0.7,1.0]]]"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("component 0"), "{e}");
    assert!(e.contains("not symmetric"), "{e}");
    assert!(
        e.contains("(1, 0) is 0.7") && e.contains("(0, 1) is 0.5"),
        "{e}"
    );
}
