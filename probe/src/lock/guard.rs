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
        crate::lock::guard::owned_fmt_impls!($guard);
    };
}
#[cfg(feature = "tokio")]
pub(crate) use owned_guard_impls;

/// `Debug` and `Display` for an owned guard (no lifetime) that implements `Deref` itself.
macro_rules! owned_fmt_impls {
    ($guard:ident) => {
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
pub(crate) use owned_fmt_impls;

/// `map` and `try_map` for a guard that has a `try_map_or_err` into `$mapped`, made from it:
/// `&mut` parts with `mut`, `&` parts without. The lines after document `map`.
macro_rules! map_fns {
    ($mapped:ident, mut, $($doc:literal),+ $(,)?) => {
        crate::lock::guard::map_fns!(@ $mapped, [&mut T], [&mut U], $($doc),+);
    };
    ($mapped:ident, $($doc:literal),+ $(,)?) => {
        crate::lock::guard::map_fns!(@ $mapped, [&T], [&U], $($doc),+);
    };
    (@ $mapped:ident, [$($t:tt)*], [$($u:tt)*], $($doc:literal),+) => {
        $(#[doc = $doc])+
        pub fn map<U: ?Sized, F>(s: Self, f: F) -> $mapped<'a, U>
        where
            F: FnOnce($($t)*) -> $($u)*,
        {
            // `f` cannot decline: the one way `try_map_or_err` fails is one that never happens.
            match Self::try_map_or_err(s, |v| Ok::<_, std::convert::Infallible>(f(v))) {
                Ok(mapped) => mapped,
                Err((_, never)) => match never {},
            }
        }

        /// Like `map`, but `f` may decline; the guard comes back then.
        pub fn try_map<U: ?Sized, F>(s: Self, f: F) -> Result<$mapped<'a, U>, Self>
        where
            F: FnOnce($($t)*) -> Option<$($u)*>,
        {
            Self::try_map_or_err(s, |v| f(v).ok_or(())).map_err(|(s, ())| s)
        }
    };
}
pub(crate) use map_fns;
