//! include/wsc.h must be what cbindgen generates from the sources now.

use std::path::Path;

#[test]
fn header_is_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let path = root.join("include/wsc.h");
    let committed = std::fs::read(&path).unwrap_or_default();
    if committed != generated {
        if std::env::var_os("WSC_UPDATE_HEADER").is_some() {
            std::fs::write(&path, &generated).expect("write include/wsc.h");
        } else {
            panic!("include/wsc.h is stale: run `WSC_UPDATE_HEADER=1 cargo test --test header`");
        }
    }
}

#[test]
fn version_macros_match_cargo() {
    let header =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/wsc.h"))
            .unwrap();
    for (name, value) in [
        ("WSC_VERSION_MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("WSC_VERSION_MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("WSC_VERSION_PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        assert!(
            header.contains(&format!("#define {name} {value}\n")),
            "{name} is not {value}"
        );
    }
    assert!(header.contains(&format!(
        "#define WSC_VERSION_STRING \"{}\"\n",
        env!("CARGO_PKG_VERSION")
    )));
    let loaded = unsafe { std::ffi::CStr::from_ptr(wsc::ffi::wsc_version()) };
    assert_eq!(loaded.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}
