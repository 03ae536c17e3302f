//! The portal's features, one module each. A handler parses the request,
//! calls a use case (`tillit_app`) and renders the outcome with the page's
//! own typed data; it never writes to the store itself.

pub mod admin;
pub mod assets;
pub mod backchannel;
pub mod bookings;
pub mod fhir;
pub mod home;
pub mod login;
pub mod me;
pub mod messages;
pub mod ops;
pub mod plugins;
pub mod profile;
pub mod room;
pub mod terms;
pub mod visits;
pub mod wizard;
