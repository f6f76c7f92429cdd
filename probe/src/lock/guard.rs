//! The guards' boilerplate, once for every primitive: `Debug` and `Display` through `Deref`,
//! and for the wrapping guards `Deref` and `DerefMut` through their `inner` field.

/// `Deref` (and with `mut`, `DerefMut`), `Debug` and `Display` for a guard that reaches its `T`
/// through `self.inner`.
macro_rules! guard_impls {
    ($guard:ident, mut) => {
        crate::lock::guard::guard_impls!($guard);
        impl<T: ?Sized> std::ops::DerefMut for $guard<'_, T> {
            fn deref_mut(&mut self) -> &mut T {
                &mut self.inner
            }
        }
    };
    ($guard:ident) => {
        impl<T: ?Sized> std::ops::Deref for $guard<'_, T> {
            type Target = T;
            fn deref(&self) -> &T {
                &self.inner
            }
        }
        crate::lock::guard::fmt_impls!($guard);
    };
}
pub(crate) use guard_impls;

/// `Debug` and `Display` for a guard that implements `Deref` itself.
macro_rules! fmt_impls {
    ($guard:ident) => {
        impl<T: ?Sized + std::fmt::Debug> std::fmt::Debug for $guard<'_, T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&**self, f)
            }
        }
        impl<T: ?Sized + std::fmt::Display> std::fmt::Display for $guard<'_, T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&**self, f)
            }
        }
    };
}
pub(crate) use fmt_impls;

/// `Deref` (and with `mut`, `DerefMut`), `Debug` and `Display` for an owned guard that reaches
/// its `T` through `self.inner`.
#[cfg(feature = "tokio")]
macro_rules! owned_guard_impls {
    ($guard:ident, mut) => {
        crate::lock::guard::owned_guard_impls!($guard);
        impl<T: ?Sized> std::ops::DerefMut for $guard<T> {
            fn deref_mut(&mut self) -> &mut T {
                &mut self.inner
            }
        }
    };
    ($guard:ident) => {
        impl<T: ?Sized> std::ops::Deref for $guard<T> {
            type Target = T;
            fn deref(&self) -> &T {
                &self.inner
            }
        }
        impl<T: ?Sized + std::fmt::Debug> std::fmt::Debug for $guard<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&**self, f)
            }
        }
        impl<T: ?Sized + std::fmt::Display> std::fmt::Display for $guard<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&**self, f)
            }
        }
    };
}
#[cfg(feature = "tokio")]
pub(crate) use owned_guard_impls;
