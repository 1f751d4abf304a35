//! No code: see this package's `Cargo.toml`. Its dependencies exist only for their features, so
//! that every build in the workspace compiles each dependency once.
